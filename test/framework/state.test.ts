import { AbortError, autoAcceptContacts, type Bot } from 'bertybot'
import { createTestNetwork, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'

let network: TestNetwork
afterEach(async () => { await network.stop() })

/** Every `/join` adds its sender to one bot-wide list: a read-modify-write that concurrent handlers share. */
function registryBot (bot: Bot): void {
  bot.use(autoAcceptContacts())
  bot.command('join', async (ctx) => {
    const members = await ctx.botState.get<string[]>('members') ?? []
    // Let other conversations' handlers read the same list before this one commits.
    await new Promise((resolve) => setImmediate(resolve))
    await ctx.botState.set('members', [...members, ctx.sender.account])
    await ctx.reply(`joined`)
  })
  bot.command('count', async (ctx) => { await ctx.reply(String((await ctx.botState.get<string[]>('members'))?.length ?? 0)) })
}

describe('bot-wide state', () => {
  it('loses no update when handlers of many conversations change the same key at once', async () => {
    network = await createTestNetwork()
    const bot = await network.bot(registryBot)
    const users = await Promise.all(['ann', 'bob', 'cid', 'dan', 'eve', 'fay'].map(async (name) => await network.user(name)))
    await Promise.all(users.map(async (u) => await u.addContact(bot)))

    await Promise.all(users.map(async (u) => await u.send('/join')))
    for (const u of users) expect(await u.nextReply()).toBe('joined')
    const [first] = users
    await first?.send('/count')
    expect(await first?.nextReply()).toBe(String(users.length))
  })

  it('bot.run() commits state and messages together from outside any event (then runs afterCommit callbacks), and not at all if it throws', async () => {
    network = await createTestNetwork()
    const bot = await network.bot(registryBot)
    const alice = await network.user('alice')
    await alice.addContact(bot)

    const committed: string[] = []
    const sent = await bot.run(async (ctx) => {
      ctx.afterCommit(() => { committed.push('first') })
      await ctx.botState.set('members', ['x', 'y'])
      await ctx.send(alice.peer.accountId, 'from a task')
      return 'done'
    })
    expect(sent).toBe('done')
    expect(await alice.nextReply()).toBe('from a task')

    expect(committed).toEqual(['first'])
    await expect(bot.run(async (ctx) => {
      ctx.afterCommit(() => { committed.push('second') })
      await ctx.botState.set('members', [])
      await ctx.send(alice.peer.accountId, 'never sent')
      throw new Error('the task failed')
    })).rejects.toThrow('the task failed')
    await alice.send('/count')
    expect(await alice.nextReply()).toBe('2')
    expect(committed).toEqual(['first'])
  })

  it('bot.run() and bot.send() aborted before they commit: reject at once, and nothing they did is written or sent, even once the task ends', async () => {
    network = await createTestNetwork()
    const bot = await network.bot(registryBot)
    const alice = await network.user('alice')
    await alice.addContact(bot)

    const committed: string[] = []
    let letItEnd = (): void => {}
    const mayEnd = new Promise<void>((resolve) => { letItEnd = resolve })
    let ended = (): void => {}
    const hasEnded = new Promise<void>((resolve) => { ended = resolve })
    const controller = new AbortController()
    const task = bot.run(async (ctx) => {
      ctx.afterCommit(() => { committed.push('aborted task') })
      await ctx.botState.set('members', ['aborted'])
      await ctx.send(alice.peer.accountId, 'never sent')
      await mayEnd
      ended()
    }, { signal: controller.signal })
    controller.abort()
    await expect(task).rejects.toBeInstanceOf(AbortError)
    // The task itself ends later; what it did is still not committed then.
    letItEnd()
    await hasEnded
    await new Promise((resolve) => setImmediate(resolve))
    expect(await bot.run(async (ctx) => await ctx.botState.get('members'))).toBeUndefined()
    expect(committed).toEqual([])

    await expect(bot.send(alice.peer.accountId, 'never sent either', { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError)
    await bot.send(alice.peer.accountId, 'sent')
    expect(await alice.nextReply()).toBe('sent')
  })
})
