import { autoAcceptContacts, autoJoinGroups, DialogueStepError, type DialogueActiveError, type DialogueExternalError, type DialogueReplayError, type Bot, type BotError, type Dialogue, type DialogueOptions } from 'bertybot'
import { createTestNetwork, ManualClock, type TestNetwork, type TestUser } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { DIALOGUE_SCOPE } from '../../src/framework/dialogue-records.ts'
import { BotStore } from '../../src/framework/store.ts'
import { LogCapture } from '../helpers/log-capture.ts'

let network: TestNetwork
afterEach(async () => { await network.stop() })

const MINUTE = 60_000

/** A three-question booking, entered with /book; other messages are echoed. */
function addBooking (bot: Bot, options: DialogueOptions = {}): Dialogue {
  bot.use(autoAcceptContacts(), autoJoinGroups())
  const booking = bot.dialogue('booking', async (d) => {
    const city = await d.ask('Which city?', z.string().min(2))
    const nights = await d.ask('How many nights?', z.coerce.number().int().min(1).max(30))
    const breakfast = await d.ask('Breakfast? (yes/no)', z.enum(['yes', 'no']))
    await d.reply(`Booked: ${nights} nights in ${city}, ${breakfast === 'yes' ? 'with' : 'without'} breakfast.`)
  }, options)
  bot.command('book', async (ctx) => { await booking.enter(ctx) })
  bot.onMessage(async (ctx) => { await ctx.reply(`you said: ${ctx.text}`) })
  return booking
}

function bookingBot (options: DialogueOptions = {}) {
  return (bot: Bot): void => { addBooking(bot, options) }
}

/** Sends `text` in the user's open conversation and resolves with the bot's next message there. */
async function say (user: TestUser, bot: Bot, text: string): Promise<string> {
  await user.send(text)
  return (await user.nextMessage({ from: bot })).text
}

describe('a dialogue', () => {
  it('asks its questions in turn, asks again with the reason when an answer is bad, and ends with the result', async () => {
    network = await createTestNetwork()
    const bot = await network.bot(bookingBot())
    const alice = await network.user('alice')
    await alice.addContact(bot)

    expect(await say(alice, bot, '/book')).toBe('Which city?')
    expect(await say(alice, bot, 'X')).toBe('Not a valid answer - Too small: expected string to have >=2 characters.\nWhich city?')
    expect(await say(alice, bot, 'Paris')).toBe('How many nights?')
    expect(await say(alice, bot, 'many')).toBe('Not a valid answer - Invalid input: expected number, received NaN.\nHow many nights?')
    expect(await say(alice, bot, '3')).toBe('Breakfast? (yes/no)')
    expect(await say(alice, bot, 'maybe')).toBe('Not a valid answer - Invalid option: expected one of "yes"|"no".\nBreakfast? (yes/no)')
    expect(await say(alice, bot, 'yes')).toBe('Booked: 3 nights in Paris, with breakfast.')
    // Over: messages are ordinary again.
    expect(await say(alice, bot, 'Paris')).toBe('you said: Paris')
  })

  it('ends with /cancel, with a reply; /cancel with nothing under way says so, and /help lists it', async () => {
    network = await createTestNetwork()
    const bot = await network.bot(bookingBot({ texts: { cancelled: 'Booking cancelled.' } }))
    const alice = await network.user('alice')
    await alice.addContact(bot)

    expect(await say(alice, bot, '/book')).toBe('Which city?')
    expect(await say(alice, bot, 'Rome')).toBe('How many nights?')
    expect(await say(alice, bot, '/cancel')).toBe('Booking cancelled.')
    expect(await say(alice, bot, '2')).toBe('you said: 2')
    expect(await say(alice, bot, '/cancel')).toBe('There is nothing to cancel.')
    expect(await say(alice, bot, '/help')).toContain('/cancel - end the questions under way')
    // Entered again, it starts from its first question.
    expect(await say(alice, bot, '/book')).toBe('Which city?')
  })

  it('times out on the bot\'s clock, counted from the last question, with a reply', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock()
    const bot = await network.bot(bookingBot({ timeoutMs: 5 * MINUTE }), { clock })
    const alice = await network.user('alice')
    await alice.addContact(bot)

    expect(await say(alice, bot, '/book')).toBe('Which city?')
    await clock.advance(4 * MINUTE)
    expect(await say(alice, bot, 'Oslo')).toBe('How many nights?')
    // Five minutes after the first question, four after the second: still waiting.
    await clock.advance(MINUTE)
    expect(await say(alice, bot, '1')).toBe('Breakfast? (yes/no)')
    await clock.advance(5 * MINUTE)
    expect((await alice.nextMessage({ from: bot })).text).toBe('No answer came in time, so I stopped asking. Start again whenever you like.')
    expect(await say(alice, bot, 'yes')).toBe('you said: yes')
  })

  it('is one at a time for a person in a conversation: entering another while one is under way fails, and the first goes on', async () => {
    network = await createTestNetwork()
    const errors: BotError[] = []
    let survey: Dialogue | undefined
    const bot = await network.bot((b) => {
      const booking = addBooking(b)
      survey = b.dialogue('survey', async (d) => { await d.reply(`thanks for ${await d.ask('Rate us, 1 to 5', z.coerce.number().int().min(1).max(5))}`) })
      // A contact accepted enters the booking; a later /survey would be an answer, so the test enters from the same event.
      b.on('contactAccepted', async (ctx) => {
        await booking.enter(ctx)
        await ctx.botState.set('booking active', await booking.active(ctx))
        await survey?.enter(ctx).catch(async (err: unknown) => { await ctx.botState.set('second', (err as DialogueActiveError).code) })
      })
      b.command('state', async (ctx) => { await ctx.reply(`${String(await ctx.botState.get('booking active'))} ${String(await ctx.botState.get('second'))}`) })
      b.catch((error) => { errors.push(error) })
    })
    const alice = await network.user('alice')
    await alice.addContact(bot)

    expect((await alice.nextMessage({ from: bot })).text).toBe('Which city?')
    expect(await say(alice, bot, 'Lima')).toBe('How many nights?')
    expect(await say(alice, bot, '4')).toBe('Breakfast? (yes/no)')
    expect(await say(alice, bot, 'no')).toBe('Booked: 4 nights in Lima, without breakfast.')
    expect(await say(alice, bot, '/state')).toBe('true ERR_DIALOGUE_ACTIVE')
    expect(errors).toEqual([])
  })

  it('runs for two people in a group at once, each answering their own, and takes nobody else\'s messages as answers', async () => {
    network = await createTestNetwork()
    const bot = await network.bot(bookingBot())
    const [alice, bob] = [await network.user('alice'), await network.user('bob')]
    await alice.addContact(bot)
    const group = await alice.createGroup('travel')
    await alice.invite(group, bob)
    await alice.invite(group, bot)
    bob.open(bob.peer.group(group.id)!)

    // Each question answers the message of the person it is for.
    const aliceBooks = await alice.send('/book')
    const toAlice = await alice.nextMessage({ from: bot })
    expect([toAlice.text, toAlice.replyTo]).toEqual(['Which city?', aliceBooks])
    expect((await bob.nextMessage({ from: bot })).text).toBe('Which city?')
    // Bob is not in a dialogue: his message is an ordinary one, not alice's answer.
    expect(await say(bob, bot, 'Berlin')).toBe('you said: Berlin')
    expect((await alice.nextMessage({ from: bot })).text).toBe('you said: Berlin')
    const bobBooks = await bob.send('/book')
    const toBob = await bob.nextMessage({ from: bot })
    expect([toBob.text, toBob.replyTo]).toEqual(['Which city?', bobBooks])
    expect((await alice.nextMessage({ from: bot })).text).toBe('Which city?')

    // Their answers interleave; each dialogue takes only its own person's.
    await alice.send('Paris')
    await bob.send('Rome')
    const seenByAlice = [(await alice.nextMessage({ from: bot })).text, (await alice.nextMessage({ from: bot })).text]
    expect(seenByAlice).toEqual(['How many nights?', 'How many nights?'])
    await bob.send('7')
    await alice.send('2')
    await alice.send('yes')
    await bob.send('no')
    const results = []
    for (let i = 0; i < 6; i++) results.push((await bob.nextMessage({ from: bot })).text)
    expect(results.filter((t) => t.startsWith('Booked'))).toEqual(expect.arrayContaining([
      'Booked: 2 nights in Paris, with breakfast.',
      'Booked: 7 nights in Rome, without breakfast.'
    ]))
    expect(results.filter((t) => t.startsWith('Booked'))).toHaveLength(2)
  })
})

describe('a dialogue replayed at each answer', () => {
  it('takes its steps once: replies, external calls and what it writes through the context', async () => {
    network = await createTestNetwork()
    let calls = 0
    const bot = await network.bot((b) => {
      b.use(autoAcceptContacts())
      const order = b.dialogue<{ shop: string }>('order', async (d, ctx) => {
        await d.reply(`Welcome to ${d.input.shop}.`)
        // Replayed at every answer, written once: the replay's writes are rolled back.
        await ctx.botState.set('visits', (await ctx.botState.get<number>('visits') ?? 0) + 1)
        const item = await d.ask('What would you like?')
        const ticket = await d.external(async () => ++calls)
        const count = await d.ask(`How many ${item}?`, z.coerce.number().int().positive())
        const at = await d.now()
        await d.reply(`Order ${ticket} at ${d.input.shop}: ${count} ${item}, at ${at}.`)
      })
      b.command('order', { args: z.object({ shop: z.string() }) }, async (ctx) => { await order.enter(ctx, { shop: ctx.args.shop }) })
      b.command('visits', async (ctx) => { await ctx.reply(String(await ctx.botState.get('visits'))) })
    })
    const alice = await network.user('alice')
    await alice.addContact(bot)

    await alice.send('/order Tea House')
    expect(await alice.nextReply()).toBe('Welcome to Tea House.')
    expect(await alice.nextReply()).toBe('What would you like?')
    expect(await say(alice, bot, 'tea')).toBe('How many tea?')
    expect(await say(alice, bot, 'none')).toBe('Not a valid answer - Invalid input: expected number, received NaN.\nHow many tea?')
    expect(await say(alice, bot, '2')).toMatch(/^Order 1 at Tea House: 2 tea, at \d+\.$/)
    expect(await say(alice, bot, '/visits')).toBe('1')
    expect(calls).toBe(1)
  })
})

describe('a dialogue whose step throws', () => {
  /** Asks for a name, then a drink that a flaky service looks up: it fails the first time. */
  function cafeBot (onError: 'keep' | 'end', errors: BotError[]) {
    return (bot: Bot): void => {
      bot.use(autoAcceptContacts())
      let lookups = 0
      const cafe = bot.dialogue('cafe', async (d) => {
        const name = await d.ask('Your name?')
        const drink = await d.ask('Which drink?')
        const price = await d.external(async () => {
          if (++lookups === 1) throw new Error('the price list is down')
          return drink.length
        })
        await d.reply(`${name}: ${drink}, ${price} coins.`)
      }, { onError })
      bot.command('cafe', async (ctx) => { await cafe.enter(ctx) })
      const broken = bot.dialogue('broken', async () => { throw new Error('not open yet') })
      bot.command('broken', async (ctx) => { await broken.enter(ctx) })
      bot.onMessage(async (ctx) => { await ctx.reply(`you said: ${ctx.text}`) })
      bot.catch(async (error) => {
        errors.push(error)
        if (error.ctx.type === 'message') await error.ctx.reply('Something broke.')
      })
    }
  }

  it('is kept at its question by default: the error handler runs, the question is asked again, and earlier answers stay', async () => {
    network = await createTestNetwork()
    const errors: BotError[] = []
    const bot = await network.bot(cafeBot('keep', errors))
    const alice = await network.user('alice')
    await alice.addContact(bot)

    expect(await say(alice, bot, '/cafe')).toBe('Your name?')
    expect(await say(alice, bot, 'Ada')).toBe('Which drink?')
    expect(await say(alice, bot, 'cocoa')).toBe('Something broke.')
    expect(await alice.nextReply()).toBe('Which drink?')
    expect(await say(alice, bot, 'tea')).toBe('Ada: tea, 3 coins.')
    expect(errors).toHaveLength(1)
    // One that fails before its first question never starts.
    expect(await say(alice, bot, '/broken')).toBe('Something broke.')
    expect(await say(alice, bot, 'hello')).toBe('you said: hello')
    expect(errors.map((e) => (e.error as DialogueStepError).dialogue)).toEqual(['cafe', 'broken'])
    const failure = errors[0]?.error as DialogueStepError
    expect(failure).toBeInstanceOf(DialogueStepError)
    expect([failure.code, failure.dialogue, (failure.cause as Error).message]).toEqual(['ERR_DIALOGUE_STEP', 'cafe', 'the price list is down'])
  })

  it('ends with onError: \'end\', with a reply after the error handler\'s', async () => {
    network = await createTestNetwork()
    const errors: BotError[] = []
    const bot = await network.bot(cafeBot('end', errors))
    const alice = await network.user('alice')
    await alice.addContact(bot)

    expect(await say(alice, bot, '/cafe')).toBe('Your name?')
    expect(await say(alice, bot, 'Ada')).toBe('Which drink?')
    expect(await say(alice, bot, 'cocoa')).toBe('Something broke.')
    expect(await alice.nextReply()).toBe('Sorry, this conversation cannot go on: it has ended.')
    expect(await say(alice, bot, 'tea')).toBe('you said: tea')
    expect(errors.map((e) => (e.error as DialogueStepError).code)).toEqual(['ERR_DIALOGUE_STEP'])
  })
})

describe('a dialogue\'s external calls', () => {
  it('record a failure like a result: caught once, it is thrown again at the replays without calling again', async () => {
    network = await createTestNetwork()
    let calls = 0
    const bot = await network.bot((b) => {
      b.use(autoAcceptContacts())
      const check = b.dialogue('check', async (d) => {
        let status = 'up'
        try {
          await d.external(async () => { calls++; throw new Error('the service is down') })
        } catch (err) {
          status = `${(err as DialogueExternalError).code}: ${(err as Error).message}`
        }
        const go = await d.ask(`Status: ${status}. Go on?`)
        await d.reply(`${status}, and ${go}`)
      })
      b.command('check', async (ctx) => { await check.enter(ctx) })
    })
    const alice = await network.user('alice')
    await alice.addContact(bot)
    expect(await say(alice, bot, '/check')).toBe('Status: ERR_DIALOGUE_EXTERNAL: the service is down. Go on?')
    expect(await say(alice, bot, 'yes')).toBe('ERR_DIALOGUE_EXTERNAL: the service is down, and yes')
    expect(calls).toBe(1)
  })

  it('taken two at once end the dialogue with DialogueUsageError, after the default error handler', async () => {
    network = await createTestNetwork()
    const log = new LogCapture()
    const bot = await network.bot((b) => {
      b.use(autoAcceptContacts())
      const rushed = b.dialogue('rushed', async (d) => {
        await d.ask('Ready?')
        await Promise.all([d.external(async () => 1), d.external(async () => 2)])
        await d.reply('never said')
      })
      b.command('rushed', async (ctx) => { await rushed.enter(ctx) })
      b.onMessage(async (ctx) => { await ctx.reply(`you said: ${ctx.text}`) })
    }, { logger: log.logger })
    const alice = await network.user('alice')
    await alice.addContact(bot)
    expect(await say(alice, bot, '/rushed')).toBe('Ready?')
    expect(await say(alice, bot, 'yes')).toBe('Sorry, something went wrong while handling that.')
    expect(await alice.nextReply()).toBe('Sorry, this conversation cannot go on: it has ended.')
    expect(await say(alice, bot, 'again')).toBe('you said: again')
    const failed = await log.waitForLine('the error logged', (line) => line.msg === 'a handler failed')
    expect((failed.err as { type: string, code: string })).toMatchObject({ type: 'DialogueUsageError', code: 'ERR_DIALOGUE_USAGE' })
  })
})

describe('a dialogue across restarts', () => {
  it('resumes at the question it was at, and ends at start when its timeout passed while the bot was down', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock()
    const setup = bookingBot({ timeoutMs: 5 * MINUTE })
    const first = await network.bot(setup, { clock })
    const alice = await network.user('alice')
    await alice.addContact(first)
    expect(await say(alice, first, '/book')).toBe('Which city?')
    expect(await say(alice, first, 'Paris')).toBe('How many nights?')

    await first.stop()
    const second = await network.bot(setup, { clock, dataDir: first.config.dataDir })
    expect(await say(alice, second, '3')).toBe('Breakfast? (yes/no)')

    await second.stop()
    await clock.advance(6 * MINUTE)
    const third = await network.bot(setup, { clock, dataDir: first.config.dataDir })
    expect((await alice.nextMessage({ from: third })).text).toBe('No answer came in time, so I stopped asking. Start again whenever you like.')
    expect(await say(alice, third, 'yes')).toBe('you said: yes')
  })

  it('ends, after the error handler, when its function no longer takes the steps it took', async () => {
    network = await createTestNetwork()
    let extraStep = false
    const errors: BotError[] = []
    const bot = await network.bot((b) => {
      b.use(autoAcceptContacts())
      const survey = b.dialogue('survey', async (d) => {
        const first = await d.ask('First?')
        if (extraStep) await d.reply('a step it did not take before')
        await d.reply(`${first} ${await d.ask('Second?')}`)
      })
      b.command('survey', async (ctx) => { await survey.enter(ctx) })
      b.onMessage(async (ctx) => { await ctx.reply(`you said: ${ctx.text}`) })
      b.catch(async (error) => {
        errors.push(error)
        if (error.ctx.type === 'message') await error.ctx.reply('Something broke.')
      })
    })
    const alice = await network.user('alice')
    await alice.addContact(bot)
    expect(await say(alice, bot, '/survey')).toBe('First?')
    expect(await say(alice, bot, 'one')).toBe('Second?')
    extraStep = true
    expect(await say(alice, bot, 'two')).toBe('Something broke.')
    expect(await alice.nextReply()).toBe('Sorry, this conversation cannot go on: it has ended.')
    expect(await say(alice, bot, 'three')).toBe('you said: three')
    expect(errors.map((e) => [(e.error as DialogueReplayError).code, (e.error as DialogueReplayError).dialogue])).toEqual([['ERR_DIALOGUE_REPLAY', 'survey']])
  })

  it('drops a damaged record with a log line, and takes the message as an ordinary one', async () => {
    network = await createTestNetwork()
    const first = await network.bot(bookingBot())
    const alice = await network.user('alice')
    const group = await alice.addContact(first)
    expect(await say(alice, first, 'hi')).toBe('you said: hi')
    await first.stop()
    const store = await BotStore.open(first.config.dataDir)
    const tx = store.transaction()
    tx.set(DIALOGUE_SCOPE, `${group.id}/${alice.peer.accountId}`, { v: 1, name: 'booking', steps: 'not a list' })
    await tx.commit()
    await store.close()

    const log = new LogCapture()
    const second = await network.bot(bookingBot(), { dataDir: first.config.dataDir, logger: log.logger })
    expect(await say(alice, second, 'Paris')).toBe('you said: Paris')
    await log.waitForLine('the damaged record logged', (line) => line.msg === 'a damaged dialogue record is dropped')
  })
})
