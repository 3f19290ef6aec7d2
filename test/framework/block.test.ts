/** bot.block(): a blocked account is not heard anywhere (messages, presses, contact requests), until unblocked, and a restart keeps the block. */
import { autoAcceptContacts, autoJoinGroups, InvalidAccountError, type Bot } from 'bertybot'
import { createTestNetwork, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { LogCapture } from '../helpers/log-capture.ts'

let network: TestNetwork
afterEach(async () => { await network.stop() })

/** A bot that accepts contacts and groups, echoes, offers a button on /vote and answers its press; `heard` is every event that reached its middleware, with whose it was. */
function listeningBot (heard: string[]): (bot: Bot) => void {
  return (bot) => {
    bot.use(async (ctx, next) => {
      const who = 'sender' in ctx ? ctx.sender.displayName : ctx.type === 'memberJoined' ? ctx.member.displayName : ctx.type === 'contactRequest' ? ctx.request.displayName : ctx.type === 'contactAccepted' ? ctx.contact.displayName : undefined
      heard.push(`${ctx.type}${ctx.type === 'message' ? ` "${ctx.text}"` : ''} from ${who ?? '?'}`)
      await next()
    })
    bot.use(autoAcceptContacts(), autoJoinGroups())
    bot.command('vote', async (ctx) => { await ctx.reply('Lunch?', { buttons: [[{ label: 'Yes', payload: 'lunch:yes' }]] }) })
    bot.onButton('lunch:yes', async (ctx) => { await ctx.reply(`${ctx.sender.displayName ?? '?'} is in`) })
    bot.onMessage(async (ctx) => { await ctx.reply(`you said: ${ctx.text}`) })
  }
}

/** Whether a line of `heard` is about one of `names`. */
function fromEither (...names: string[]): (line: string) => boolean {
  return (line) => names.some((name) => line.endsWith(` from ${name}`))
}

/** Waits until the bot dropped an event of `account` whose journal key starts with `kind/` (in `group`, if given). */
async function droppedAsBlocked (log: LogCapture, account: string, kind: string, group?: string): Promise<void> {
  const prefix = group === undefined ? `${kind}/` : `${kind}/${group}/`
  await log.waitForLine(`a ${kind} of a blocked account dropped`, (l) => l.msg === 'dropped an event of a blocked account' && l.account === account && String(l.event).startsWith(prefix))
}

describe('blocking an account', () => {
  it('drops its messages and presses, in its conversation and in groups, and its contact request; unblocking hears it again', async () => {
    network = await createTestNetwork()
    const log = new LogCapture('debug')
    const heard: string[] = []
    const bot = await network.bot(listeningBot(heard), { logger: log.logger })
    const alice = await network.user('alice')
    const bob = await network.user('bob')
    const carol = await network.user('carol')
    const contact = await alice.addContact(bot)
    const team = await alice.createGroup('team')
    await alice.invite(team, bob)
    await alice.invite(team, bot)
    alice.open(contact)
    await alice.send('/vote')
    const vote = await alice.nextMessage()

    // By contact link, as a person would give it.
    await bot.block(alice.peer.contactLink())
    expect((await bot.blocked()).map((b) => b.account)).toEqual([alice.peer.accountId])
    heard.length = 0
    await alice.send('hello?')
    await droppedAsBlocked(log, alice.peer.accountId, 'message', contact.id)
    await alice.press(vote, 'Yes')
    await droppedAsBlocked(log, alice.peer.accountId, 'press', contact.id)
    alice.open(team)
    await alice.send('hello team?')
    await droppedAsBlocked(log, alice.peer.accountId, 'message', team.id)

    // Others in the same group are heard.
    bob.open(bob.peer.group(team.id)!)
    await bob.send('hi')
    expect(await bob.nextReply({ from: bot })).toBe('you said: hi')

    await bot.block(carol.peer.accountId)
    await carol.peer.addContact(bot.contactLink())
    await droppedAsBlocked(log, carol.peer.accountId, 'request')
    expect(bot.peer.contact(carol.peer.accountId)?.state).toBe('incoming')
    expect(heard.filter(fromEither('alice', 'carol'))).toEqual([])
    expect(heard).toContain('message "hi" from bob')

    await bot.unblock(alice.peer.accountId)
    expect((await bot.blocked()).map((b) => b.account)).toEqual([carol.peer.accountId])
    alice.open(contact)
    await alice.send('back')
    expect(await alice.nextReply()).toBe('you said: back')
    await alice.press(vote, 'Yes')
    expect(await alice.nextReply()).toBe('alice is in')
    expect(heard.filter(fromEither('alice', 'carol'))).toEqual(['message "back" from alice', 'buttonPressed from alice'])
  })

  it('survives a restart: still dropped after it; once unblocked, a contact request left pending is answered at the next start', async () => {
    network = await createTestNetwork()
    const heard: string[] = []
    const first = await network.bot(listeningBot(heard))
    const alice = await network.user('alice')
    const carol = await network.user('carol')
    await alice.addContact(first)
    await first.block(alice.peer.accountId)
    await first.block(carol.peer.accountId)
    const link = first.contactLink()
    await first.stop()
    heard.length = 0

    const log = new LogCapture('debug')
    const second = await network.bot(listeningBot(heard), { dataDir: first.config.dataDir, logger: log.logger })
    expect((await second.blocked()).map((b) => b.account).sort()).toEqual([alice.peer.accountId, carol.peer.accountId].sort())
    await alice.send('still there?')
    await droppedAsBlocked(log, alice.peer.accountId, 'message')
    const accepted = carol.addContact(link, { timeoutMs: 60_000 })
    await droppedAsBlocked(log, carol.peer.accountId, 'request')
    expect(heard.filter(fromEither('alice', 'carol'))).toEqual([])

    await second.unblock(carol.peer.accountId)
    await second.stop()
    const third = await network.bot(listeningBot(heard), { dataDir: first.config.dataDir })
    await accepted
    expect(heard).toContain('contactRequest from carol')
    expect((await third.blocked()).map((b) => b.account)).toEqual([alice.peer.accountId])
  })

  it('refuses what names no account, saying so', async () => {
    network = await createTestNetwork()
    const bot = await network.bot()
    await expect(bot.block('not an account')).rejects.toBeInstanceOf(InvalidAccountError)
    await expect(bot.unblock('bertybot://contact/garbage')).rejects.toMatchObject({ code: 'ERR_INVALID_ACCOUNT' })
    expect(await bot.blocked()).toEqual([])
  })
})
