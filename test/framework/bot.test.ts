import { autoAcceptContacts, autoJoinGroups, welcome, type Bot, type BotError } from 'bertybot'
import { createTestNetwork, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { HostileMember } from '../helpers/hostile-member.ts'

let network: TestNetwork
afterEach(async () => { await network.stop() })

function diceBot (bot: Bot): void {
  bot.use(autoAcceptContacts())
  bot.command('roll', {
    args: z.object({ sides: z.coerce.number().int().min(2).default(6) }),
    description: 'roll a die',
    aliases: ['dice']
  }, async (ctx) => { await ctx.reply(`rolled ${1 + Math.floor(Math.random() * ctx.args.sides)} of ${ctx.args.sides}`) })
  bot.command('count', { description: 'count, across restarts' }, async (ctx) => {
    const n = (await ctx.state.get<number>('count') ?? 0) + 1
    await ctx.state.set('count', n)
    await ctx.reply(`count ${n}`)
  })
  bot.command('boom', { description: 'fails after writing state' }, async (ctx) => {
    await ctx.state.set('count', 1000)
    await ctx.reply('this reply must not go out')
    throw new Error('kaboom')
  })
  bot.onMessage(async (ctx) => { await ctx.reply(`you said: ${ctx.text}`) })
}

describe('a bot', () => {
  it('runs commands with typed arguments, explains bad ones, lists them, and suggests near names', async () => {
    network = await createTestNetwork()
    const bot = await network.bot(diceBot)
    const alice = await network.user('alice')
    await alice.addContact(bot)

    await alice.send('/roll 20')
    expect(await alice.nextReply()).toMatch(/^rolled (\d+) of 20$/)
    await alice.send('/dice')
    expect(await alice.nextReply()).toMatch(/^rolled [1-6] of 6$/)
    await alice.send('/roll twenty')
    expect(await alice.nextReply()).toMatch(/^Bad argument - sides: .*\nUsage: \/roll \[sides\]$/)
    await alice.send('/rol 6')
    expect(await alice.nextReply()).toBe('Unknown command /rol. Did you mean /roll? /help lists the commands.')
    await alice.send('/help')
    const help = await alice.nextReply()
    expect(help).toContain('/roll [sides] - roll a die (also /dice)')
    expect(help).toContain('/help - list the commands')
    await alice.send('not a command')
    expect(await alice.nextReply()).toBe('you said: not a command')
  })

  it('survives a throwing handler: its writes and replies are dropped, the user is told, the bot goes on', async () => {
    network = await createTestNetwork()
    const errors: BotError[] = []
    const bot = await network.bot((b) => {
      diceBot(b)
      b.catch(async (error) => {
        errors.push(error)
        if (error.ctx.type === 'message') await error.ctx.reply(`failed: ${(error.error as Error).message}`)
      })
    })
    const alice = await network.user('alice')
    await alice.addContact(bot)
    await alice.send('/count')
    expect(await alice.nextReply()).toBe('count 1')
    await alice.send('/boom')
    expect(await alice.nextReply()).toBe('failed: kaboom')
    await alice.send('/count')
    expect(await alice.nextReply()).toBe('count 2')
    expect(errors).toHaveLength(1)
    expect(errors[0]?.ctx.type).toBe('message')
    expect(bot.stats()).toMatchObject({ errors: 1 })
  })

  it('answers a burst in order, once each: replies queued together leave together, and one answering another queued with it names it', async () => {
    network = await createTestNetwork()
    const bot = await network.bot((b) => {
      b.use(autoAcceptContacts())
      b.onMessage(async (ctx) => {
        await ctx.reply(`head ${ctx.text}`, { tag: `head-${ctx.text}` })
        await ctx.reply(`follow ${ctx.text}`, { replyToTag: `head-${ctx.text}` })
      })
    })
    const alice = await network.user('alice')
    await alice.addContact(bot)
    const count = 60
    // Back to back, without waiting: the bot's replies pile up behind one another.
    await Promise.all(Array.from({ length: count }, async (_, i) => await alice.send(String(i))))
    const replies = []
    for (let i = 0; i < 2 * count; i++) replies.push(await alice.nextMessage())
    const heads = replies.filter((m) => m.text.startsWith('head '))
    // Each conversation's replies leave in the order the bot queued them: handled in order, each head before its follow.
    expect(replies.map((m) => m.text)).toEqual(Array.from({ length: count }, (_, i) => [`head ${i}`, `follow ${i}`]).flat())
    for (const [i, head] of heads.entries()) {
      const follow = replies.find((m) => m.text === `follow ${i}`)
      expect(follow?.replyTo, `follow ${i}`).toBe(head.id)
    }
    expect(new Set(replies.map((m) => m.id)).size).toBe(2 * count)
  })

  it('keeps conversation state across a restart', async () => {
    network = await createTestNetwork()
    const bot = await network.bot(diceBot)
    const alice = await network.user('alice')
    await alice.addContact(bot)
    await alice.send('/count')
    expect(await alice.nextReply()).toBe('count 1')
    await bot.stop()
    await network.bot(diceBot, { dataDir: bot.config.dataDir })
    await alice.send('/count')
    expect(await alice.nextReply()).toBe('count 2')
  })

  it('ignores a message of a type it does not know, and keeps answering', async () => {
    network = await createTestNetwork()
    const bot = await network.bot((b) => {
      b.use(autoAcceptContacts(), autoJoinGroups())
      b.onMessage(async (ctx) => { await ctx.reply(`you said: ${ctx.text}`) })
    })
    const alice = await network.user('alice')
    await alice.addContact(bot)
    const group = await alice.createGroup('with mallory')
    await alice.invite(group, bot)
    const mallory = await HostileMember.join(group.invitation(), group.logAddresses, alice.peer.multiaddrs[0] as string, await network.tempDir('mallory'))
    try {
      await mallory.announce()
      await mallory.shareChainKey([bot.peer.accountId, alice.peer.accountId])
      await mallory.append(mallory.seal({ type: 99, sentAt: Date.now() }))
      await mallory.append(mallory.text('from mallory'))
      // The bot answers mallory's real message, and alice sees that answer; the unknown one never got in.
      const seen: string[] = []
      while (!seen.includes('you said: from mallory')) seen.push(await alice.nextReply())
      expect(seen).toEqual(['from mallory', 'you said: from mallory'])
      await alice.send('still there?')
      expect(await alice.nextReply()).toBe('you said: still there?')
    } finally {
      await mallory.stop()
    }
  })

  it('welcomes new contacts and joins groups it is invited to, with a confirmation', async () => {
    network = await createTestNetwork()
    const bot = await network.bot((b) => {
      b.use(autoAcceptContacts(), autoJoinGroups({ confirmation: 'joining!' }), welcome((ctx) => `welcome, ${ctx.type === 'contactAccepted' ? ctx.contact.displayName : ctx.member.displayName ?? 'friend'}`))
    })
    const alice = await network.user('alice')
    await alice.addContact(bot)
    expect(await alice.nextReply()).toBe('welcome, alice')
    const contactGroup = alice.conversation
    const group = await alice.createGroup('team')
    await alice.invite(group, bot)
    alice.open(contactGroup!)
    expect(await alice.nextReply()).toBe('joining!')
  })
})
