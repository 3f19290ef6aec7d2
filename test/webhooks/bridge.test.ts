/**
 * The bridge in one process, on a real network: routes made from the chat,
 * every answer of the response contract, GitHub and Grafana payloads,
 * redeliveries, repeats and resolutions, label matchers, flood control.
 */
import { stat, readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { WebhookDefinition } from '@octokit/webhooks-examples'
import { sign } from '@octokit/webhooks-methods'
import { createTestNetwork, ManualClock, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { addRoute, adminWithGroup, ask, bearer, post, startBridgeBot } from './bridge-helpers.ts'

let network: TestNetwork | undefined
afterEach(async () => { await network?.stop() })

const fixture = async (name: string): Promise<Record<string, unknown>> =>
  JSON.parse(await readFile(new URL(`../fixtures/webhooks/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>

describe('the webhook bridge', () => {
  it('posts a route\'s webhooks to its group, and answers each bad request with its status, posting nothing', async () => {
    // Each refused payload is logged as a warning: quiet here.
    network = await createTestNetwork({ logLevel: 'error' })
    const clock = new ManualClock(new Date('2026-11-25T08:00:00Z'))
    const admin = await network.user('admin')
    const bot = await startBridgeBot(network, { clock, admin, bridge: { requestsPerMinute: 40 } })
    const { direct, ops } = await adminWithGroup(bot, admin)

    const { url, secret, answer } = await addRoute(admin, direct, '/bridge add backups generic --to ops')
    expect(answer).toMatch(/^Route backups \(generic\) posts to ops\./)
    expect(url).toBe(`http://127.0.0.1:${bot.httpAddress()?.port}/hooks/generic/backups`)
    expect(answer).toContain(`curl -H "Authorization: Bearer ${secret}" -d "backup done" ${url}`)
    // The route and its secret are in the bot's own store, readable by the bot's user only (0700).
    expect(JSON.stringify(await bot.run(async (ctx) => await ctx.botState.get('bridge/routes')))).toContain(secret)
    expect((await stat(join(bot.config.dataDir, 'bot'))).mode & 0o777).toBe(0o700)

    // As `curl -d` sends it: labelled a form, read as the text.
    const accepted = await post(url, 'backup done', { ...bearer(secret), 'content-type': 'application/x-www-form-urlencoded' })
    expect(accepted.status).toBe(202)
    expect(accepted.body.id).toMatch(/^[0-9a-f-]{36}$/)
    admin.open(ops)
    expect(await admin.nextReply()).toBe('backup done')
    expect((await post(url, { title: 'Backup', text: 'nightly backup failed', severity: 'critical' }, bearer(secret))).status).toBe(202)
    const titled = await admin.nextReply()
    expect(titled).toContain('Backup')
    expect(titled).toContain('nightly backup failed')
    expect(titled).toContain('critical')

    const bad: Array<[string, Promise<{ status: number, body: Record<string, unknown> }>, number]> = [
      ['no secret', post(url, 'x'), 401],
      ['a wrong secret', post(url, 'x', bearer('not-the-secret-at-all-0000')), 401],
      ['an unknown route', post(url.replace('backups', 'nope'), 'x', bearer(secret)), 404],
      ['the wrong source', post(url.replace('generic', 'grafana'), 'x', bearer(secret)), 404],
      ['malformed JSON', post(url, '{"text": ', { ...bearer(secret), 'content-type': 'application/json' }), 400],
      ['JSON without text', post(url, { title: 'no text' }, bearer(secret)), 400],
      ['a body over 1 MiB', post(url, 'x'.repeat(1024 * 1024 + 1), bearer(secret)), 413],
      ['XML', post(url, '<a/>', { ...bearer(secret), 'content-type': 'application/xml' }), 415]
    ]
    for (const [what, response, status] of bad) expect({ what, status: (await response).status }).toEqual({ what, status })
    const schemaProblem = await post(url, { title: 'no text' }, bearer(secret))
    expect(schemaProblem.body).toMatchObject({ error: 'bad request', field: 'text' })
    expect(String(schemaProblem.body.message)).not.toBe('')
    expect((await post(url, 'x')).body).toEqual({ error: 'unauthorized' })

    // Over the route's rate: 429, and nothing posted (bad JSON spends the rate without posting).
    const burst = await Promise.all(Array.from({ length: 45 }, async () => await post(url, '{', { ...bearer(secret), 'content-type': 'application/json' })))
    expect(burst.filter((r) => r.status === 429).length).toBeGreaterThan(0)
    expect(burst.every((r) => r.status === 400 || r.status === 429)).toBe(true)

    // Still up, and nothing of the above reached the group: the next message there is this one.
    const health = await fetch(url.replace(/\/hooks\/.*/, '/healthz'))
    expect(health.status).toBe(200)
    const metrics = await (await fetch(url.replace(/\/hooks\/.*/, '/metrics'))).text()
    expect(metrics).toContain('bertybot_webhook_requests_total{route="backups",source="generic",status="202"} 2')
    expect(metrics).toMatch(/bertybot_webhook_requests_total\{route="backups",source="generic",status="429"\} [1-9]/)
    const other = await addRoute(admin, direct, '/bridge add other generic --to ops')
    expect((await post(other.url, 'the end', bearer(other.secret))).status).toBe(202)
    admin.open(ops)
    expect(await admin.nextReply()).toBe('the end')
  })

  it('manages routes from the chat: admins only, a secret only in 1:1, rotate and remove, kept across a restart', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock(new Date('2026-11-25T08:00:00Z'))
    const admin = await network.user('admin')
    const dataDir = await network.tempDir('bridge')
    let bot = await startBridgeBot(network, { clock, admin, dataDir })
    const { direct, ops } = await adminWithGroup(bot, admin)

    // In the group, the route posts there and the secret goes to the admin's 1:1 conversation.
    expect(await ask(admin, ops, '/bridge add deploys generic')).toBe('Route deploys (generic) posts to ops. I sent you its URL and secret privately.')
    admin.open(direct)
    const told = await admin.nextReply()
    const secret = /^Secret: (\S+)$/m.exec(told)?.[1] ?? ''
    const url = /^URL: (\S+)$/m.exec(told)?.[1] ?? ''
    expect(secret.length).toBeGreaterThanOrEqual(40)

    const stranger = await network.user('stranger')
    await stranger.addContact(bot)
    expect(await ask(stranger, stranger.conversation!, '/bridge add mine generic')).toMatch(/only the admins/)
    expect(await ask(admin, direct, '/bridge add deploys github')).toMatch(/already/)
    expect(await ask(admin, direct, '/bridge add Bad! generic')).toMatch(/route name/)
    expect(await ask(admin, direct, '/bridge add x carrier-pigeon')).toMatch(/no webhook source "carrier-pigeon".*generic/)
    expect(await ask(admin, direct, '/bridge add x generic --to nowhere')).toMatch(/no group "nowhere"/)
    const list = await ask(admin, direct, '/bridge list')
    expect(list).toContain('deploys (generic) → ops')
    expect(list).toContain(url)
    expect(list).not.toContain(secret)

    // The route and its secret outlive a restart.
    await bot.stop()
    bot = await startBridgeBot(network, { clock, admin, dataDir })
    const restartedUrl = url.replace(/:\d+\//, `:${bot.httpAddress()?.port}/`)
    expect((await post(restartedUrl, 'after restart', bearer(secret))).status).toBe(202)
    admin.open(ops)
    expect(await admin.nextReply()).toBe('after restart')

    const rotated = await addRoute(admin, direct, '/bridge rotate deploys')
    expect(rotated.secret).not.toBe(secret)
    expect((await post(restartedUrl, 'old', bearer(secret))).status).toBe(401)
    expect((await post(restartedUrl, 'new', bearer(rotated.secret))).status).toBe(202)
    admin.open(ops)
    expect(await admin.nextReply()).toBe('new')
    expect(await ask(admin, direct, '/bridge rm deploys')).toMatch(/removed/)
    expect((await post(restartedUrl, 'gone', bearer(rotated.secret))).status).toBe(404)
  })

  it('checks GitHub\'s signature, answers a redelivery once, and posts Grafana alerts', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock(new Date('2026-11-25T08:00:00Z'))
    const admin = await network.user('admin')
    const bot = await startBridgeBot(network, { clock, admin })
    const { direct, ops } = await adminWithGroup(bot, admin)
    const github = await addRoute(admin, direct, '/bridge add code github --to ops')
    const push = (createRequire(import.meta.url)('@octokit/webhooks-examples') as WebhookDefinition[]).find((e) => e.name === 'push')?.examples[0] as Record<string, unknown> | undefined
    if (push === undefined) throw new Error('no push example')
    const body = JSON.stringify(push)
    const headers = async (delivery: string, signed = body): Promise<Record<string, string>> => ({
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': delivery,
      'x-hub-signature-256': await sign(github.secret, signed)
    })
    const first = await post(github.url, body, await headers('d-1'))
    expect(first.status).toBe(202)
    admin.open(ops)
    const repository = (push.repository as { full_name: string }).full_name
    expect(await admin.nextReply()).toContain(repository)
    // GitHub redelivers with the same delivery id: the same answer, nothing posted.
    expect(await post(github.url, body, await headers('d-1'))).toEqual({ status: 202, body: { id: first.body.id, duplicate: true } })
    expect((await post(github.url, body, { ...(await headers('d-2')), 'x-hub-signature-256': await sign('a-wrong-secret-0000000', body) })).status).toBe(401)
    const { 'x-hub-signature-256': _, ...unsigned } = await headers('d-3')
    expect((await post(github.url, body, unsigned)).status).toBe(401)

    const grafana = await addRoute(admin, direct, '/bridge add dashboards grafana --to ops')
    expect((await post(grafana.url, await fixture('grafana-firing.json'), bearer(grafana.secret))).status).toBe(202)
    admin.open(ops)
    const alert = await admin.nextReply()
    // The next message in the group is Grafana's: the redelivery and the unsigned requests posted nothing.
    expect(alert).toMatch(/firing/i)
    expect(alert).toMatch(/silence/i)
  })

  it('answers an Alertmanager resolution to its firing message, marks a repeat, and sends alerts to groups by label', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock(new Date('2026-11-25T08:00:00Z'))
    const admin = await network.user('admin')
    const bot = await startBridgeBot(network, { clock, admin })
    const { direct, ops } = await adminWithGroup(bot, admin)
    const { url, secret } = await addRoute(admin, direct, '/bridge add alerts alertmanager --to ops')
    const firing = await fixture('alertmanager-firing.json')
    const resolved = await fixture('alertmanager-resolved.json')

    const accepted = await post(url, firing, bearer(secret))
    expect(accepted.status).toBe(202)
    admin.open(ops)
    const first = await admin.nextMessage()
    expect(first.text).toMatch(/FIRING/)
    // In Markdown, and with no silence buttons: this bridge has no Alertmanager to silence in.
    expect(first.format).toBe('markdown')
    expect(first.text.split('\n')[0]).toBe('**\\[FIRING:3\\] HighLatency (warning)**')
    expect(first.buttons).toEqual([])
    // Alertmanager sending it again at once (a retry) posts nothing; after the window, it is a repeat.
    expect(await post(url, firing, bearer(secret))).toEqual({ status: 202, body: { id: accepted.body.id, duplicate: true } })
    await clock.advance(10 * 60_000)
    expect((await post(url, firing, bearer(secret))).status).toBe(202)
    const repeat = await admin.nextMessage()
    expect(repeat.text).toMatch(/^\(repeat\) /)
    expect(repeat.format).toBe('plain')
    expect(repeat.replyTo).toBe(first.id)
    expect((await post(url, resolved, bearer(secret))).status).toBe(202)
    const resolution = await admin.nextMessage()
    expect(resolution.text).toMatch(/RESOLVED/)
    expect(resolution.replyTo).toBe(first.id)

    // severity="critical" to another group; the others stay in ops.
    const oncall = await admin.createGroup('oncall')
    await admin.invite(oncall, bot)
    expect(await ask(admin, direct, '/bridge match alerts severity="critical" --to oncall')).toMatch(/go to oncall/)
    const alerts = (firing.alerts as Array<{ labels: Record<string, string>, fingerprint: string }>)
    const mixed = {
      ...firing,
      groupKey: '{}:{alertname="mixed"}',
      alerts: alerts.map((a, i) => ({ ...a, fingerprint: `f${i}`, labels: { ...a.labels, severity: i === 0 ? 'critical' : 'warning' } }))
    }
    expect((await post(url, mixed, bearer(secret))).status).toBe(202)
    admin.open(oncall)
    const critical = await admin.nextReply()
    admin.open(ops)
    const warnings = await admin.nextReply()
    const instances = alerts.map((a) => a.labels.instance ?? '')
    expect(critical).toContain(instances[0])
    expect(critical).not.toContain(instances[1])
    expect(warnings).toContain(instances[1])
    expect(warnings).toContain(instances[2])
    expect(warnings).not.toContain(instances[0])
  })

  it('keeps a digest that waits for its minute across a restart', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock(new Date('2026-11-25T08:00:00Z'))
    const admin = await network.user('admin')
    const dataDir = await network.tempDir('bridge')
    let bot = await startBridgeBot(network, { clock, admin, dataDir, bridge: { messagesPerMinute: 1 } })
    const { direct, ops } = await adminWithGroup(bot, admin)
    const { url, secret } = await addRoute(admin, direct, '/bridge add jobs generic --to ops')
    for (const text of ['job 1 done', 'job 2 done', 'job 3 done']) expect((await post(url, text, bearer(secret))).status).toBe(202)
    admin.open(ops)
    expect(await admin.nextReply()).toBe('job 1 done')
    await bot.stop()
    bot = await startBridgeBot(network, { clock, admin, dataDir, bridge: { messagesPerMinute: 1 } })
    await clock.advance(60_000)
    expect(await admin.nextReply()).toBe('+2 more messages:\n- job 2 done\n- job 3 done')
  })

  it('turns a burst of 500 alerts into a few digests within the group\'s rate, naming each alert once', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock(new Date('2026-11-25T08:00:00Z'))
    const admin = await network.user('admin')
    const perMinute = 5
    const bot = await startBridgeBot(network, { clock, admin, bridge: { messagesPerMinute: perMinute } })
    const { direct, ops } = await adminWithGroup(bot, admin)
    const { url, secret } = await addRoute(admin, direct, '/bridge add alerts alertmanager --to ops')
    const template = await fixture('alertmanager-firing.json')
    const alert = (template.alerts as Array<Record<string, unknown>>)[0] as Record<string, unknown>
    const names = Array.from({ length: 500 }, (_, i) => `Burst${String(i).padStart(3, '0')}`)
    for (let i = 0; i < names.length; i += 50) {
      const answers = await Promise.all(names.slice(i, i + 50).map(async (name, j) => await post(url, {
        ...template,
        groupKey: `{}:{alertname="${name}"}`,
        groupLabels: { alertname: name },
        commonLabels: { alertname: name },
        alerts: [{ ...alert, fingerprint: `fp${i + j}`, labels: { alertname: name } }]
      }, bearer(secret))))
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202))
    }
    admin.open(ops)
    const messages: string[] = []
    for (let i = 0; i < perMinute; i++) messages.push(await admin.nextReply())
    // The rest waits for the minute to pass.
    await clock.advance(60_000)
    const digests: string[] = []
    // Each message names its alerts (a message of its own may name its alert twice: headline and line).
    const named = (): string[] => [...messages, ...digests].flatMap((m) => [...new Set(m.match(/Burst\d{3}/g) ?? [])])
    while (new Set(named()).size < names.length) digests.push(await admin.nextReply())
    expect(digests.length).toBeLessThanOrEqual(3)
    expect(digests[0]).toMatch(/^\+\d+ more firing: /)
    expect(digests.every((d) => (d.match(/Burst\d{3}/g) ?? []).length === new Set(d.match(/Burst\d{3}/g)).size)).toBe(true)
    const counts = new Map<string, number>()
    for (const name of named()) counts.set(name, (counts.get(name) ?? 0) + 1)
    expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([])
    expect(counts.size).toBe(500)
    expect(bot.stats().errors).toBe(0)
  })
})
