/** rateLimit(): a person over the limit is told once per window, goes unheard until it passes, and nobody else is slowed. */
import { autoAcceptContacts, autoJoinGroups, rateLimit, type Bot } from 'bertybot'
import { createTestNetwork, ManualClock, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { LogCapture } from '../helpers/log-capture.ts'

let network: TestNetwork
afterEach(async () => { await network.stop() })

const SECOND = 1_000
const MINUTE = 60 * SECOND

/** A bot limited to `perMinute`, that echoes messages, offers a button on /vote and answers its press; `heard` is what reached its handlers. */
function limitedBot (perMinute: number, heard: string[]): (bot: Bot) => void {
  return (bot) => {
    bot.use(autoAcceptContacts(), autoJoinGroups(), rateLimit({ perMinute }))
    bot.use(async (ctx, next) => {
      if (ctx.type === 'message') heard.push(`${ctx.sender.displayName ?? '?'}: ${ctx.text}`)
      if (ctx.type === 'buttonPressed') heard.push(`${ctx.sender.displayName ?? '?'} pressed ${ctx.payload}`)
      await next()
    })
    bot.command('vote', async (ctx) => { await ctx.reply('Lunch?', { buttons: [[{ label: 'Yes', payload: 'lunch:yes' }]] }) })
    bot.onButton('lunch:yes', async (ctx) => { await ctx.reply(`${ctx.sender.displayName ?? '?'} is in`) })
    bot.onMessage(async (ctx) => { await ctx.reply(`you said: ${ctx.text}`) })
  }
}

/** Waits until the bot has dropped `n` events over the limit. */
async function droppedOverLimit (log: LogCapture, n: number): Promise<void> {
  await log.waitForLine(`${n} events over the limit`, () => log.find((l) => l.msg === 'over the rate limit: not handled').length >= n)
}

describe('a rate limit per person', () => {
  it('tells a person over the limit once in the window, hears nothing more from them until it passes, and leaves the others alone', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock()
    const log = new LogCapture('debug')
    const heard: string[] = []
    const bot = await network.bot(limitedBot(3, heard), { clock, logger: log.logger })
    const alice = await network.user('alice')
    const bob = await network.user('bob')
    await alice.addContact(bot)
    await bob.addContact(bot)

    for (const text of ['one', 'two', 'three']) {
      await alice.send(text)
      expect(await alice.nextReply()).toBe(`you said: ${text}`)
    }
    await clock.advance(20 * SECOND)
    const fourth = await alice.send('four')
    const told = await alice.nextMessage()
    expect(told.text).toBe('You are writing faster than I can follow (3 a minute). Please wait 40s before writing again.')
    expect(told.replyTo).toBe(fourth)
    await alice.send('five')
    await alice.send('six')
    await droppedOverLimit(log, 3)
    expect(log.find((l) => l.msg === 'a sender went over the rate limit: told to wait')).toHaveLength(1)

    // Bob has a budget of his own.
    await bob.send('hi')
    expect(await bob.nextReply()).toBe('you said: hi')

    await clock.advance(40 * SECOND)
    await alice.send('seven')
    // The next thing Alice hears answers this: nothing was said to four's followers.
    expect(await alice.nextReply()).toBe('you said: seven')
    expect(heard).toEqual(['alice: one', 'alice: two', 'alice: three', 'bob: hi', 'alice: seven'])
  })

  it('counts messages and button presses together, and one person\'s across conversations', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock()
    const log = new LogCapture('debug')
    const heard: string[] = []
    const bot = await network.bot(limitedBot(2, heard), { clock, logger: log.logger })
    const alice = await network.user('alice')
    const contact = await alice.addContact(bot)
    const team = await alice.createGroup('team')
    await alice.invite(team, bot)

    alice.open(contact)
    await alice.send('/vote')
    const vote = await alice.nextMessage()
    await alice.press(vote, 'Yes')
    expect(await alice.nextReply()).toBe('alice is in')

    alice.open(team)
    const third = await alice.send('hello team')
    const told = await alice.nextMessage()
    expect(told.text).toBe('You are writing faster than I can follow (2 a minute). Please wait 1m before writing again.')
    expect(told.replyTo).toBe(third)
    alice.open(contact)
    await alice.press(vote, 'Yes')
    await droppedOverLimit(log, 2)
    expect(heard).toEqual(['alice: /vote', 'alice pressed lunch:yes'])

    await clock.advance(MINUTE)
    await alice.press(vote, 'Yes')
    expect(await alice.nextReply()).toBe('alice is in')
  })

  it('refuses a limit that is not a positive whole number', () => {
    expect(() => rateLimit({ perMinute: 0 })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', variable: 'rateLimit.perMinute' }))
    expect(() => rateLimit({ perMinute: 2.5 })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }))
  })
})
