/** Routes declared in a file: loaded at start, reloaded whole or refused whole, read-only from the chat. */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigFileError } from 'bertybot'
import { type Bridge } from 'bertybot/bridge'
import { createTestNetwork, ManualClock, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { adminWithGroup, ask, bearer, post, startBridgeBot } from './bridge-helpers.ts'

let network: TestNetwork | undefined
afterEach(async () => { await network?.stop() })

const SECRET = 'a-long-secret-from-the-routes-file'

describe('the routes file', () => {
  it('serves the file\'s routes, refuses a wrong file whole keeping the routes in force, and keeps them out of the chat\'s hands', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock(new Date('2026-11-25T08:00:00Z'))
    const admin = await network.user('admin')
    const dir = await network.tempDir('routes')
    const file = join(dir, 'routes.yaml')
    await writeFile(file, 'routes:\n')
    await writeFile(join(dir, 'secret'), 'a-secret-kept-in-its-own-file\n')
    let bridge: Bridge | undefined
    const bot = await startBridgeBot(network, { clock, admin, bridge: { routesFile: file }, onBridge: (b) => { bridge = b } })
    const { direct, ops } = await adminWithGroup(bot, admin)
    const oncall = await admin.createGroup('oncall')
    await admin.invite(oncall, bot)

    await writeFile(file, [
      'routes:',
      '  - name: backups',
      '    source: generic',
      '    to: ops',
      `    secret: ${SECRET}`,
      '  - name: uptime',
      '    source: generic',
      '    to: ops',
      `    secret: ${SECRET}`,
      '    template: "{{monitor.name}} is {{status}} ({{#checks}}{{.}} {{/checks}})"',
      '  - name: alerts',
      '    source: alertmanager',
      '    to: [ops]',
      '    secretFile: ' + join(dir, 'secret'),
      '    matchers:',
      '      - match: severity="critical"',
      '        to: oncall',
      ''
    ].join('\n'))
    expect(await bridge?.reload()).toBeUndefined()
    expect(bridge?.routes().map((r) => r.name)).toEqual(['alerts', 'backups', 'uptime'])
    const url = bridge?.urlOf({ source: 'generic', name: 'backups' }) ?? ''
    expect((await post(url, 'from the file', bearer(SECRET))).status).toBe(202)
    admin.open(ops)
    expect(await admin.nextReply()).toBe('from the file')

    // A payload of any shape, through the route's template.
    const uptime = bridge?.urlOf({ source: 'generic', name: 'uptime' }) ?? ''
    expect((await post(uptime, { monitor: { name: 'api' }, status: 'down', checks: ['eu', 'us'] }, bearer(SECRET))).status).toBe(202)
    expect(await admin.nextReply()).toBe('api is down (eu us )')

    const list = await ask(admin, direct, '/bridge list')
    expect(list).toContain('backups (generic, from the routes file) → ops')
    expect(list).toMatch(/alerts \(alertmanager, from the routes file\) → ops\n.*\n\s+\{severity="critical"\} → oncall/)
    expect(await ask(admin, direct, '/bridge rotate backups')).toMatch(/comes from the routes file/)
    expect(await ask(admin, direct, '/bridge rm backups')).toMatch(/comes from the routes file/)
    expect(await ask(admin, direct, '/bridge add backups generic --to ops')).toMatch(/already/)

    // A wrong file is refused whole, naming the line; the routes in force stay.
    await writeFile(file, 'routes:\n  - name: backups\n    source: generic\n    to: nowhere\n    secret: short\n')
    const refused = await bridge?.reload()
    expect(refused).toBeInstanceOf(ConfigFileError)
    expect(refused?.message).toMatch(/routes\.yaml:4:9: routes\[0\]\.to: the bot is in no group "nowhere"/)
    expect(refused?.message).toMatch(/routes\.yaml:5:13: routes\[0\]\.secret: a secret is at least 16 characters/)
    expect((await post(url, 'still served', bearer(SECRET))).status).toBe(202)
    admin.open(ops)
    expect(await admin.nextReply()).toBe('still served')

    await writeFile(file, 'routes:\n  - name: backups\n    source: generic\n    to: ops\n    secret: ' + SECRET + '\n    sekret: typo\n')
    expect((await bridge?.reload())?.message).toMatch(/:6:5: .*unknown key "sekret" \(did you mean "secret"\?\)/)
  })

  it('stops the bot at start when the file is wrong', async () => {
    network = await createTestNetwork()
    const admin = await network.user('admin')
    const dir = await network.tempDir('routes')
    const file = join(dir, 'routes.json')
    await writeFile(file, JSON.stringify({ routes: [{ name: 'x', source: 'telepathy', to: 'ops', secret: SECRET }] }))
    await expect(startBridgeBot(network, { admin, bridge: { routesFile: file } })).rejects.toThrow(/routes\.json:1:\d+: routes\[0\]\.source: expected one of alertmanager, grafana, github, generic/)
  })
})
