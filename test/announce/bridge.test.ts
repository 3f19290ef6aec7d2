/** The announcement bot with the alert bridge on (ANNOUNCE_BRIDGE=on): webhooks into its channels. */
import { createTestNetwork, ManualClock, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { bearer, post } from '../webhooks/bridge-helpers.ts'
import { ask, meet, startAnnounceBot } from './helpers.ts'

let network: TestNetwork
afterEach(async () => { await network.stop() })

describe('the announcement bot with the bridge on', () => {
  it('makes routes into its channels for its admins, and posts what they receive', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock(new Date('2026-11-25T08:00:00Z'))
    const admin = await network.user('admin')
    const { bot } = await startAnnounceBot(network, { admins: [admin], clock, http: true, settings: { bridge: { messagesPerMinute: 20 } } })
    await meet(admin, bot)
    const created = await ask(admin, '/channel new releases')
    const reader = await network.user('reader')
    const channel = await reader.peer.joinGroup(created.split('\n').at(-1) ?? '')
    reader.open(channel)
    await expect.poll(() => bot.peer.group(channel.id)?.members().length, { timeout: 30_000 }).toBe(2)

    const answer = await ask(admin, '/bridge add ci github --to releases')
    const url = /^URL: (\S+)$/m.exec(answer)?.[1] ?? ''
    expect(url).toMatch(/\/hooks\/github\/ci$/)
    const generic = await ask(admin, '/bridge add backups generic --to releases')
    const secret = /^Secret: (\S+)$/m.exec(generic)?.[1] ?? ''
    const genericUrl = /^URL: (\S+)$/m.exec(generic)?.[1] ?? ''
    expect((await post(genericUrl, 'Release 2.0 is out', bearer(secret))).status).toBe(202)
    expect(await reader.nextReply()).toBe('Release 2.0 is out')

    // The bot's other commands are unchanged, and only admins manage routes.
    await meet(reader, bot)
    expect(await ask(reader, '/bridge list')).toMatch(/only the admins/)
    expect(await ask(admin, '/bridge list')).toMatch(/^Webhook routes:\nbackups \(generic\) → releases/)
  })
})
