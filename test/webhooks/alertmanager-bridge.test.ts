/**
 * The bridge with a real Prometheus Alertmanager on 127.0.0.1: an alert
 * posted to Alertmanager reaches a group member as a message, its resolution
 * answers it, and silences made from the chat are Alertmanager's.
 */
import { AlertmanagerClient } from 'bertybot/bridge'
import type { MessageEvent } from 'bertybot/protocol'
import { createTestNetwork, type TestNetwork, type TestUser } from 'bertybot/testing'
import { afterEach, expect, it } from 'vitest'
import { describeWithAlertmanager, freePort, startAlertmanager, type RunningAlertmanager } from '../helpers/alertmanager.ts'
import { addRoute, adminWithGroup, ask, startBridgeBot } from './bridge-helpers.ts'

let network: TestNetwork | undefined
let alertmanager: RunningAlertmanager | undefined
afterEach(async () => {
  await alertmanager?.stop()
  await network?.stop()
})

/** The next message in the open conversation whose text matches, skipping others (Alertmanager may notify again meanwhile). */
async function nextMatching (user: TestUser, pattern: RegExp, timeoutMs = 60_000): Promise<MessageEvent> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const message = await user.nextMessage({ timeoutMs: Math.max(1, deadline - Date.now()) })
    if (pattern.test(message.text)) return message
  }
}

describeWithAlertmanager('the bridge with a real Alertmanager', () => {
  it('posts a firing alert and its resolution, and silences from the chat', async () => {
    network = await createTestNetwork()
    const admin = await network.user('admin')
    const port = await freePort()
    // The system clock: silences last from now on Alertmanager's clock.
    const bot = await startBridgeBot(network, {
      admin,
      bridge: { alertmanagerUrl: `http://127.0.0.1:${port}` }
    })
    const { direct, ops } = await adminWithGroup(bot, admin)
    const { url, secret } = await addRoute(admin, direct, '/bridge add prometheus alertmanager --to ops')
    alertmanager = await startAlertmanager({ port, webhookUrl: url, bearerToken: secret, groupWait: '1s', groupInterval: '2s' })

    const labels = { alertname: 'DiskFull', severity: 'critical', instance: 'db-1:9100' }
    const startsAt = new Date()
    await alertmanager.postAlerts([{ labels, annotations: { summary: 'The disk of db-1 is 97% full' }, startsAt, generatorURL: 'http://127.0.0.1:9090/graph' }])
    admin.open(ops)
    const firing = await nextMatching(admin, /FIRING/)
    expect(firing.text).toContain('DiskFull')
    expect(firing.text).toContain('The disk of db-1 is 97% full')
    expect(firing.text).toContain(`${alertmanager.url}/#/silences/new`)

    // Answering the alert with /silence 1h silences its labels, authored by the member.
    admin.open(ops)
    const silenced = await admin.conversation!.send({ text: '/silence 1h disk being replaced', replyTo: firing.id })
    expect(silenced).not.toBe('')
    const answer = await nextMatching(admin, /^Silenced /)
    expect(answer.text).toContain('alertname="DiskFull"')
    const client = new AlertmanagerClient({ url: alertmanager.url })
    const fromReply = (await client.silences()).find((s) => s.status.state === 'active' && s.comment === 'disk being replaced')
    expect(fromReply).toMatchObject({ createdBy: 'admin' })
    expect(fromReply?.matchers).toEqual(expect.arrayContaining([{ name: 'instance', value: 'db-1:9100', isRegex: false, isEqual: true }]))

    // /silence with matchers, /silences lists both, /unsilence ends one.
    const byMatchers = await ask(admin, ops, '/silence alertname=~"Disk.*" instance!="db-2:9100" 2h maintenance window')
    const id = /silence ([0-9a-f-]{36})/.exec(byMatchers)?.[1]
    expect(id).toBeDefined()
    const created = await client.silence(id ?? '')
    expect(created).toMatchObject({ createdBy: 'admin', comment: 'maintenance window' })
    expect(created.matchers).toEqual(expect.arrayContaining([
      { name: 'alertname', value: 'Disk.*', isRegex: true, isEqual: true },
      { name: 'instance', value: 'db-2:9100', isRegex: false, isEqual: false }
    ]))
    const list = await ask(admin, ops, '/silences')
    expect(list).toContain(id)
    expect(list).toContain(fromReply?.id)
    expect(await ask(admin, ops, `/unsilence ${id}`)).toMatch(/is over/)
    expect((await client.silence(id ?? '')).status.state).toBe('expired')
    expect(await ask(admin, ops, '/silence nonsense')).toMatch(/How long|not a|Which alerts/)
    expect(await ask(admin, ops, '/silence foo 2h')).toMatch(/^"foo" is not a matcher: a label, an operator/)

    // /alerts shows what fires and is not silenced: nothing, DiskFull being silenced.
    await client.expireSilence(fromReply?.id ?? '')
    expect(await ask(admin, ops, '/alerts')).toMatch(/Firing now \(1\):\n- DiskFull\{instance="db-1:9100"\} \[critical\]/)

    // The resolution answers the firing message.
    await alertmanager.postAlerts([{ labels, startsAt, endsAt: new Date() }])
    admin.open(ops)
    const resolved = await nextMatching(admin, /RESOLVED/)
    expect(resolved.replyTo).toBe(firing.id)

    // A stranger in the 1:1 conversation may not silence.
    const stranger = await network.user('stranger')
    await stranger.addContact(bot)
    expect(await ask(stranger, stranger.conversation!, '/silence alertname="DiskFull" 1h')).toMatch(/Only the members/)
  })

  it('puts Silence 1h and Silence 1d under an alert message, in Markdown; a press silences its alerts as /silence would', async () => {
    network = await createTestNetwork()
    const admin = await network.user('admin')
    const port = await freePort()
    const bot = await startBridgeBot(network, { admin, bridge: { alertmanagerUrl: `http://127.0.0.1:${port}` } })
    const { direct, ops } = await adminWithGroup(bot, admin)
    const { url, secret } = await addRoute(admin, direct, '/bridge add prometheus alertmanager --to ops')
    alertmanager = await startAlertmanager({ port, webhookUrl: url, bearerToken: secret, groupWait: '1s', groupInterval: '2s' })
    // A member of the group who is not an admin: the group gets the alerts, so its members may silence them.
    const member = await network.user('member')
    await admin.invite(ops, member)
    member.open(member.peer.group(ops.id)!)

    const labels = { alertname: 'CPUHot', severity: 'warning', instance: 'web_1:9100' }
    await alertmanager.postAlerts([{ labels, annotations: { summary: 'web_1 runs *hot*' }, startsAt: new Date(), generatorURL: 'http://127.0.0.1:9090/graph' }])
    const firing = await nextMatching(member, /FIRING/)
    expect(firing.format).toBe('markdown')
    expect(firing.text).toContain('web\\_1 runs \\*hot\\*')
    expect(firing.buttons).toEqual([[{ label: 'Silence 1h', payload: 'bridge:silence:1h' }, { label: 'Silence 1d', payload: 'bridge:silence:1d' }]])

    const before = Date.now()
    await member.press(firing, 'Silence 1d')
    const answer = await nextMatching(member, /^Silenced /)
    expect(answer.replyTo).toBe(firing.id)
    expect(answer.text).toContain('instance="web_1:9100"')
    const client = new AlertmanagerClient({ url: alertmanager.url })
    const made = (await client.silences()).find((s) => s.status.state === 'active' && s.createdBy === 'member')
    expect(made?.comment).toBe('from ops by way of the bridge')
    expect(made?.matchers).toEqual(expect.arrayContaining([{ name: 'alertname', value: 'CPUHot', isRegex: false, isEqual: true }]))
    const lasts = (made?.endsAt.getTime() ?? 0) - before
    expect(lasts).toBeGreaterThan(24 * 3_600_000 - 60_000)
    expect(lasts).toBeLessThan(24 * 3_600_000 + 60_000)
  })
})
