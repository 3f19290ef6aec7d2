import { createTestNetwork, ManualClock, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { ask, meet, startAnnounceBot } from './helpers.ts'

let network: TestNetwork
afterEach(async () => { await network.stop() })

describe('the announcement bot across restarts', () => {
  it.each(['send', 'skip'] as const)('with ANNOUNCE_MISSED=%s, handles what fell due while it was down, and never sends anything twice', async (missed) => {
    network = await createTestNetwork()
    const clock = new ManualClock(new Date('2026-11-24T08:00:00Z'))
    const admin = await network.user('admin')
    const dataDir = await network.tempDir('announce')
    const start = async (): Promise<Awaited<ReturnType<typeof startAnnounceBot>>['bot']> =>
      (await startAnnounceBot(network, { admins: [admin], clock, dataDir, settings: { missed } })).bot

    const first = await start()
    await meet(admin, first)
    const reader = await network.user('reader')
    await meet(reader, first)
    expect(await ask(reader, '/subscribe')).toMatch(/^Subscribed/)
    expect(await ask(admin, '/announce add "0 9 * * *" Stand-up')).toMatch(/^Announcement #1 is set/)
    expect(await ask(admin, '/announce once in 2h Lunch')).toMatch(/^Announcement #2 is set: once/)

    // Down from 08:00 to 10:30: the 09:00 stand-up and the 10:00 lunch fell due meanwhile.
    await first.stop()
    await clock.set(new Date('2026-11-24T10:30:00Z'))
    const second = await start()
    if (missed === 'send') {
      const late = [await reader.nextReply(), await reader.nextReply()].sort()
      expect(late).toEqual([
        'Lunch\n\n(Sent late: this was due Tue 24 Nov 2026, 10:00 (UTC), while the bot was down.)',
        'Stand-up\n\n(Sent late: this was due Tue 24 Nov 2026, 09:00 (UTC), while the bot was down.)'
      ])
    }

    // Once more, with nothing new due: nothing is sent again. The next thing
    // the reader gets is what the admin sends now.
    await second.stop()
    await clock.set(new Date('2026-11-24T10:45:00Z'))
    await start()
    expect(await ask(admin, '/announce now Probe')).toBe('Sent to 1 conversation.')
    expect(await reader.nextReply()).toBe('Probe')
    // The one-off is over either way; a skip is on the record.
    expect(await ask(admin, '/announce list')).not.toMatch(/#2/)
    const log = await ask(admin, '/announce log')
    if (missed === 'skip') {
      expect(log).toMatch(/· bot · skipped #1, due Tue 24 Nov 2026, 09:00 \(UTC\) while the bot was down$/m)
      expect(log.match(/· bot · skipped #2, due Tue 24 Nov 2026, 10:00 \(UTC\) while the bot was down$/gm)).toHaveLength(1)
    } else {
      expect(log).not.toMatch(/skipped/)
    }
  })
})
