import { autoAcceptContacts, ConfigError, createBot, type Bot, type BotHealth } from 'bertybot'
import { createTestNetwork, type TestNetwork } from 'bertybot/testing'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { afterEach, describe, expect, it } from 'vitest'
import { assessHealth } from '../../src/framework/http.ts'

let network: TestNetwork | undefined
afterEach(async () => { await network?.stop() })

function url (bot: Bot, path: string): string {
  const address = bot.httpAddress()
  if (address === undefined) throw new Error('the bot has no HTTP endpoint')
  return `http://${address.host}:${address.port}${path}`
}

type Families = Map<string, ReturnType<typeof parsePrometheusTextFormat>[number]> & { text: string }

/** Scrapes `/metrics`; the parser throws on a line that is not Prometheus text. */
async function scrape (bot: Bot): Promise<Families> {
  const response = await fetch(url(bot, '/metrics'))
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  const text = await response.text()
  return Object.assign(new Map(parsePrometheusTextFormat(text).map((family) => [family.name, family])), { text })
}

/** The value of a sample of a counter or gauge, by its labels. */
function value (families: Families, name: string, labels: Record<string, string> = {}): number {
  const sample = families.get(name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
  if (sample?.value === undefined) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`)
  return Number(sample.value)
}

describe('the HTTP endpoint', () => {
  it('answers /healthz with the bot\'s figures and /metrics in Prometheus text that counts what happened', async () => {
    network = await createTestNetwork()
    const bot = await network.bot((b) => {
      b.use(autoAcceptContacts())
      b.command('fail', () => { throw new Error('on purpose') })
      b.onMessage(async (ctx) => { await ctx.reply(ctx.text) })
      b.http.get('/hello', async () => ({ hello: 'world' }))
    }, { http: { host: '127.0.0.1', port: 0 } })
    const alice = await network.user('alice')
    const conversation = await alice.addContact(bot)
    for (const text of ['one', 'two']) {
      await alice.send(text)
      expect(await alice.nextReply()).toBe(text)
    }
    await alice.send('/fail')
    expect(await alice.nextReply()).toMatch(/something went wrong/)

    const health = await fetch(url(bot, '/healthz'))
    expect(health.status).toBe(200)
    const figures = await health.json() as BotHealth
    expect(figures).toMatchObject({ healthy: true, status: 'running', problems: [], accountId: bot.peer.accountId, groups: 1, pendingEvents: 0 })
    expect(figures.connectedPeers).toBeGreaterThanOrEqual(1)
    expect(figures.lastHandledSecondsAgo).not.toBeNull()
    expect(figures.outbox.depth).toBeGreaterThanOrEqual(0)

    const metrics = await scrape(bot)
    expect(value(metrics, 'bertybot_messages_received_total')).toBe(3)
    expect(value(metrics, 'bertybot_events_handled_total', { type: 'message' })).toBe(3)
    expect(value(metrics, 'bertybot_handler_errors_total', { type: 'message' })).toBe(1)
    // The parser keeps no counts of labelled histograms: read that sample's line.
    expect(metrics.get('bertybot_handler_duration_seconds')?.type).toBe('HISTOGRAM')
    expect(metrics.text).toMatch(/^bertybot_handler_duration_seconds_count\{type="message"\} 3$/m)
    expect(value(metrics, 'bertybot_replication_lag_seconds', { group: conversation.id })).toBeGreaterThanOrEqual(0)
    expect(value(metrics, 'bertybot_peers_connected')).toBeGreaterThanOrEqual(1)
    expect(value(metrics, 'bertybot_groups')).toBe(1)
    expect(metrics.has('bertybot_process_resident_memory_bytes')).toBe(true)
    // Replies leave the outbox after the handler: wait until all three are counted.
    await expect.poll(async () => value(await scrape(bot), 'bertybot_messages_sent_total'), { timeout: 10_000 }).toBe(3)
    expect(value(await scrape(bot), 'bertybot_outbox_depth')).toBe(0)

    expect(await (await fetch(url(bot, '/hello'))).json()).toEqual({ hello: 'world' })

    const address = url(bot, '/healthz')
    await bot.stop()
    await expect(fetch(address)).rejects.toThrow()
  })

  it('is off unless given an address; a bot that mounts routes without one does not start', async () => {
    network = await createTestNetwork()
    const quiet = await network.bot()
    expect(quiet.httpAddress()).toBeUndefined()
    const bot = await createBot({ env: {}, envFile: false, dataDir: await network.tempDir('bot'), printLink: false, handleSignals: false })
    bot.http.post('/hook', async () => ({ ok: true }))
    await expect(bot.start()).rejects.toThrow(ConfigError)
    await expect(bot.start()).rejects.toThrow(/BERTYBOT_HTTP/)
  })
})

describe('health', () => {
  const figures = {
    now: Date.parse('2026-11-24T10:00:00Z'),
    status: 'running' as const,
    accountId: 'account',
    startedAt: new Date('2026-11-24T09:00:00Z'),
    connectedPeers: 0,
    groups: 3,
    pendingEvents: 0,
    outboxDepth: 2,
    oldestWaitingSince: Date.parse('2026-11-24T09:59:00Z'),
    lastHandledAt: undefined
  }

  it('is good while the bot runs and its outbox moves, even with no peer connected', () => {
    expect(assessHealth(figures)).toMatchObject({ healthy: true, uptimeSeconds: 3600, outbox: { depth: 2, oldestWaitingSeconds: 60 }, lastHandledSecondsAgo: null })
  })

  it('is bad when a message has waited more than five minutes to be sent, or the bot is not running', () => {
    const stuck = assessHealth({ ...figures, oldestWaitingSince: Date.parse('2026-11-24T09:54:00Z') })
    expect(stuck.healthy).toBe(false)
    expect(stuck.problems).toEqual(['a message has waited 360 s to be sent'])
    expect(assessHealth({ ...figures, status: 'stopping' }).problems).toEqual(['the bot is stopping'])
  })
})
