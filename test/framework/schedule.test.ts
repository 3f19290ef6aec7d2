import { autoAcceptContacts, ScheduleError, type Bot } from 'bertybot'
import { createTestNetwork, ManualClock, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'

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

  it('refuse a bad cron expression or time zone, saying what is wrong', async () => {
    network = await createTestNetwork()
    await expect(network.bot((b) => { b.schedule('61 * * * *', async () => {}) })).rejects.toThrow(ScheduleError)
    await expect(network.bot((b) => { b.schedule('61 * * * *', async () => {}) })).rejects.toThrow(/minute/)
    await expect(network.bot((b) => { b.schedule('0 9 * * *', async () => {}, { timezone: 'Mars/Olympus' }) })).rejects.toThrow(/Mars\/Olympus/)
  })
})
