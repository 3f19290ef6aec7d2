import { autoAcceptContacts, ScheduleError, type Bot } from 'bertybot'
import { createTestNetwork, ManualClock, type TestNetwork, type TestUser } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'

let network: TestNetwork
afterEach(async () => { await network.stop() })

function standUpBot (bot: Bot): void {
  bot.use(autoAcceptContacts())
  bot.command('ping', async (ctx) => { await ctx.reply('pong') })
  // 10:00 in Paris is 09:00 UTC in November.
  bot.schedule('0 10 * * *', async (ctx) => {
    await ctx.broadcast(`stand-up at ${ctx.schedule.scheduledAt.toISOString()}${ctx.schedule.late ? ' (late)' : ''}`)
  }, { timezone: 'Europe/Paris', name: 'stand-up' })
  bot.schedule('0 10 * * *', async (ctx) => { await ctx.broadcast('the skipped one ran') }, { timezone: 'Europe/Paris', name: 'skippable', missed: 'skip' })
}

/**
 * The stand-up bot's first start at `firstStart` (alice becomes its contact and is answered),
 * then a stop and a start again on the same data directory at `restart`; returns alice.
 */
async function firstStartThenRestart (firstStart: string, restart: string): Promise<TestUser> {
  network = await createTestNetwork()
  const clock = new ManualClock(new Date(firstStart))
  const bot = await network.bot(standUpBot, { clock })
  const alice = await network.user('alice')
  await alice.addContact(bot)
  await alice.send('/ping')
  expect(await alice.nextReply()).toBe('pong')
  await bot.stop()
  await clock.set(new Date(restart))
  await network.bot(standUpBot, { clock, dataDir: bot.config.dataDir })
  return alice
}

describe('schedules', () => {
  it('fire at the right minute, not twice across a restart, and a missed run comes late (or is skipped, as asked)', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock(new Date('2026-11-24T08:58:30Z'))
    const bot = await network.bot(standUpBot, { clock })
    const alice = await network.user('alice')
    await alice.addContact(bot)

    await clock.set(new Date('2026-11-24T08:59:50Z'))
    await alice.send('/ping')
    expect(await alice.nextReply()).toBe('pong')
    await clock.set(new Date('2026-11-24T09:00:10Z'))
    expect(await alice.nextReply()).toBe('stand-up at 2026-11-24T09:00:00.000Z')
    expect(await alice.nextReply()).toBe('the skipped one ran')

    // A restart within the same minute: nothing runs again.
    await bot.stop()
    const again = await network.bot(standUpBot, { clock, dataDir: bot.config.dataDir })
    await clock.set(new Date('2026-11-24T09:30:00Z'))
    await alice.send('/ping')
    expect(await alice.nextReply()).toBe('pong')

    // Down over the next day's 10:00: it runs once, late; the one that skips does not.
    await again.stop()
    await clock.set(new Date('2026-11-25T11:00:00Z'))
    await network.bot(standUpBot, { clock, dataDir: bot.config.dataDir })
    expect(await alice.nextReply()).toBe('stand-up at 2026-11-25T09:00:00.000Z (late)')
    await alice.send('/ping')
    expect(await alice.nextReply()).toBe('pong')
  })

  it('catch up on a run missed while the bot was down even when they had never run before', async () => {
    // Down from before the first 10:00 (Paris) to after it.
    const alice = await firstStartThenRestart('2026-11-24T08:00:00Z', '2026-11-24T09:30:00Z')
    expect(await alice.nextReply()).toBe('stand-up at 2026-11-24T09:00:00.000Z (late)')
    await alice.send('/ping')
    expect(await alice.nextReply()).toBe('pong')
  })

  it('do not take an occurrence from before they existed for one missed: a schedule first seen just after its time does not run late at the next restart', async () => {
    // First started 30 s after 10:00 in Paris: the schedule first exists after that day's occurrence.
    const alice = await firstStartThenRestart('2026-11-24T09:00:30Z', '2026-11-24T09:05:00Z')
    // The next thing alice hears is the answer to her ping, not a stand-up "late".
    await alice.send('/ping')
    expect(await alice.nextReply()).toBe('pong')
  })

  it('refuse a bad cron expression or time zone, saying what is wrong', async () => {
    network = await createTestNetwork()
    await expect(network.bot((b) => { b.schedule('61 * * * *', async () => {}) })).rejects.toThrow(ScheduleError)
    await expect(network.bot((b) => { b.schedule('61 * * * *', async () => {}) })).rejects.toThrow(/minute/)
    await expect(network.bot((b) => { b.schedule('0 9 * * *', async () => {}, { timezone: 'Mars/Olympus' }) })).rejects.toThrow(/Mars\/Olympus/)
  })

  it('refuse a second schedule of the same name when it is added, before the bot starts, and list the others before it does', async () => {
    network = await createTestNetwork()
    let listed: string[] = []
    await expect(network.bot((b) => {
      b.schedule('0 9 * * *', async () => {}, { name: 'daily' })
      b.schedule('0 10 * * *', async () => {})
      listed = b.schedules().map((s) => s.name)
      b.schedule('0 11 * * *', async () => {}, { name: 'daily' })
    })).rejects.toThrow('a schedule named "daily" exists already')
    expect(listed).toEqual(['daily', '0 10 * * *'])
  })
})

describe('schedules added while the bot runs', () => {
  interface Reminder { id: string, at: string, to: string, text: string }

  /** A one-off schedule for a reminder; it removes the reminder from state as it sends it. */
  function arm (bot: Bot, reminder: Reminder): void {
    bot.schedule(new Date(reminder.at), async (ctx) => {
      await ctx.send(reminder.to, `${reminder.text}${ctx.schedule.late ? ' (late)' : ''}`)
      const all = await ctx.botState.get<Reminder[]>('reminders') ?? []
      await ctx.botState.set('reminders', all.filter((r) => r.id !== reminder.id))
    }, { name: `reminder-${reminder.id}`, timezone: 'UTC' })
  }

  /** Reminders kept in state, each armed again at start: how a bot lets its users schedule things. */
  function remindersBot (bot: Bot): void {
    bot.use(autoAcceptContacts())
    bot.command('remind', { args: z.object({ minutes: z.coerce.number().int().min(1), text: z.string() }) }, async (ctx) => {
      const reminder = { id: ctx.message.id, at: new Date(bot.clock.now() + ctx.args.minutes * 60_000).toISOString(), to: ctx.group.id, text: ctx.args.text }
      await ctx.botState.set('reminders', [...await ctx.botState.get<Reminder[]>('reminders') ?? [], reminder])
      arm(bot, reminder)
      await ctx.reply(`next: ${bot.schedules().find((s) => s.name === `reminder-${reminder.id}`)?.nextRun?.toISOString() ?? 'none'}`)
    })
    bot.command('next', async (ctx) => { await ctx.reply(bot.schedules().map((s) => s.nextRun?.toISOString()).join(',') || 'none') })
  }

  it('a one-off runs once at its time; one that fell due while the bot was down runs once, late, after a restart', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock(new Date('2026-11-24T09:00:00Z'))
    const start = async (dataDir?: string): Promise<Bot> => {
      const bot = await network.bot(remindersBot, { clock, ...(dataDir === undefined ? {} : { dataDir }) })
      const kept = await bot.run(async (ctx) => await ctx.botState.get<Reminder[]>('reminders') ?? [])
      for (const reminder of kept) arm(bot, reminder)
      return bot
    }
    const bot = await start()
    const alice = await network.user('alice')
    await alice.addContact(bot)

    await alice.send('/remind 5 tea')
    expect(await alice.nextReply()).toBe('next: 2026-11-24T09:05:00.000Z')
    await clock.set(new Date('2026-11-24T09:05:01Z'))
    expect(await alice.nextReply()).toBe('tea')
    await alice.send('/next')
    expect(await alice.nextReply()).toBe('none')

    await alice.send('/remind 10 coffee')
    expect(await alice.nextReply()).toBe('next: 2026-11-24T09:15:01.000Z')
    await bot.stop()
    await clock.set(new Date('2026-11-24T10:00:00Z'))
    const again = await start(bot.config.dataDir)
    expect(await alice.nextReply()).toBe('coffee (late)')
    // Not again after one more restart: it ran, and its reminder is gone from state.
    await again.stop()
    await start(bot.config.dataDir)
    await alice.send('/next')
    expect(await alice.nextReply()).toBe('none')
  })
})
