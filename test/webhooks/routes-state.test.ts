/**
 * Where the routes made from the chat live: in the bot's state, committed
 * with the command that made them, not in a file of their own; and the file
 * an older version kept them in, taken over once at start.
 */
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Bridge } from 'bertybot/bridge'
import { DataDirectoryError } from 'bertybot/protocol'
import { createTestNetwork, ManualClock, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { addRoute, adminWithGroup, ask, bearer, post, startBridgeBot } from './bridge-helpers.ts'

let network: TestNetwork | undefined
afterEach(async () => { await network?.stop() })

const OLD_SECRET = 'a-secret-an-older-version-made-0123456789'

/** `url` on the port `bot` listens on now (a restarted bot has another). */
const onPortOf = (bot: { httpAddress: () => { port: number } | undefined }, url: string): string => url.replace(/:\d+\//, `:${bot.httpAddress()?.port}/`)

const missing = async (path: string): Promise<boolean> => await stat(path).then(() => false, (err: NodeJS.ErrnoException) => err.code === 'ENOENT')

/** The chat routes file as an older version wrote it: one route `legacy` to `group`. */
async function writeLegacyFile (dataDir: string, group: string): Promise<string> {
  const path = join(dataDir, 'bridge', 'routes.json')
  await mkdir(join(dataDir, 'bridge'), { recursive: true, mode: 0o700 })
  const route = { name: 'legacy', source: 'generic', to: [group], secret: OLD_SECRET, matchers: [], origin: 'chat', createdAt: '2026-11-20T08:00:00.000Z', madeBy: 'an-older-message-id' }
  await writeFile(path, JSON.stringify({ version: 1, routes: [route] }, null, 2), { mode: 0o600 })
  return path
}

describe('routes made from the chat', () => {
  it('are kept in the bot\'s state, not a file of their own, and outlive a restart with their rules and rotated secret', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock(new Date('2026-11-25T08:00:00Z'))
    const admin = await network.user('admin')
    const dataDir = await network.tempDir('bridge')
    let bot = await startBridgeBot(network, { clock, admin, dataDir })
    const { direct, ops } = await adminWithGroup(bot, admin)
    const oncall = await admin.createGroup('oncall')
    await admin.invite(oncall, bot)

    const made = await addRoute(admin, direct, '/bridge add deploys generic --to ops')
    expect(await ask(admin, direct, '/bridge match deploys severity="critical" --to oncall')).toMatch(/^Alerts of deploys matching .* go to oncall now\.$/)
    const rotated = await addRoute(admin, direct, '/bridge rotate deploys')
    expect(rotated.secret).not.toBe(made.secret)
    // The secret is in the bot's store (0700), with the rest of its state; nothing else holds it.
    const stored = JSON.stringify(await bot.run(async (ctx) => await ctx.botState.get('bridge/routes')))
    expect(stored).toContain(rotated.secret)
    expect(stored).not.toContain(made.secret)
    expect((await stat(join(dataDir, 'bot'))).mode & 0o777).toBe(0o700)
    expect(await missing(join(dataDir, 'bridge'))).toBe(true)

    await bot.stop()
    bot = await startBridgeBot(network, { clock, admin, dataDir })
    const url = onPortOf(bot, made.url)
    expect((await post(url, 'old secret', bearer(made.secret))).status).toBe(401)
    expect((await post(url, 'after the restart', bearer(rotated.secret))).status).toBe(202)
    admin.open(ops)
    expect(await admin.nextReply()).toBe('after the restart')
    const list = await ask(admin, direct, '/bridge list')
    expect(list).toContain('deploys (generic) → ops')
    expect(list).toMatch(/severity="critical".* → oncall/)
  })
})

describe('the routes file of an older version (<data>/bridge/routes.json)', () => {
  it('is taken into the bot\'s state at start and renamed, once: a route removed later stays removed', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock(new Date('2026-11-25T08:00:00Z'))
    const admin = await network.user('admin')
    const dataDir = await network.tempDir('bridge')
    let bridge: Bridge | undefined
    const onBridge = (b: Bridge): void => { bridge = b }
    let bot = await startBridgeBot(network, { clock, admin, dataDir })
    const { direct, ops } = await adminWithGroup(bot, admin)
    await bot.stop()
    const path = await writeLegacyFile(dataDir, ops.id)
    const before = await readFile(path, 'utf8')

    bot = await startBridgeBot(network, { clock, admin, dataDir, onBridge })
    expect(bridge?.routes().map((r) => [r.name, r.origin])).toEqual([['legacy', 'chat']])
    const url = bridge?.urlOf({ source: 'generic', name: 'legacy' }) ?? ''
    expect((await post(url, 'through the old route', bearer(OLD_SECRET))).status).toBe(202)
    admin.open(ops)
    expect(await admin.nextReply()).toBe('through the old route')
    expect(await ask(admin, direct, '/bridge list')).toContain('legacy (generic) → ops')
    // Renamed as it was (its mode too), and in the state now.
    expect(await missing(path)).toBe(true)
    expect(await readFile(`${path}.imported`, 'utf8')).toBe(before)
    expect((await stat(`${path}.imported`)).mode & 0o777).toBe(0o600)
    expect(JSON.stringify(await bot.run(async (ctx) => await ctx.botState.get('bridge/routes')))).toContain(OLD_SECRET)

    expect(await ask(admin, direct, '/bridge rm legacy')).toMatch(/removed/)
    await bot.stop()
    bot = await startBridgeBot(network, { clock, admin, dataDir, onBridge })
    expect(bridge?.routes()).toEqual([])
    expect((await post(onPortOf(bot, url), 'gone', bearer(OLD_SECRET))).status).toBe(404)
  })

  it('taken again after a crash before its rename, adds nothing twice: the state\'s route wins', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock(new Date('2026-11-25T08:00:00Z'))
    const admin = await network.user('admin')
    const dataDir = await network.tempDir('bridge')
    let bridge: Bridge | undefined
    const onBridge = (b: Bridge): void => { bridge = b }
    let bot = await startBridgeBot(network, { clock, admin, dataDir })
    const { direct, ops } = await adminWithGroup(bot, admin)
    await bot.stop()
    const path = await writeLegacyFile(dataDir, ops.id)
    bot = await startBridgeBot(network, { clock, admin, dataDir, onBridge })
    const rotated = await addRoute(admin, direct, '/bridge rotate legacy')
    await bot.stop()

    // As if the rename had not happened: the old file is there again.
    await rename(`${path}.imported`, path)
    bot = await startBridgeBot(network, { clock, admin, dataDir, onBridge })
    expect(bridge?.routes().map((r) => [r.name, r.secret])).toEqual([['legacy', rotated.secret]])
    const url = onPortOf(bot, rotated.url)
    expect((await post(url, 'with the old secret', bearer(OLD_SECRET))).status).toBe(401)
    expect((await post(url, 'with the rotated secret', bearer(rotated.secret))).status).toBe(202)
    admin.open(ops)
    expect(await admin.nextReply()).toBe('with the rotated secret')
    expect(await missing(path)).toBe(true)
  })

  it('stops the start if it is damaged, naming it, and is left as it is', async () => {
    network = await createTestNetwork()
    const admin = await network.user('admin')
    const dataDir = await network.tempDir('bridge')
    const path = join(dataDir, 'bridge', 'routes.json')
    await mkdir(join(dataDir, 'bridge'), { recursive: true })
    for (const damaged of ['{"version": 1, "routes": [', JSON.stringify({ version: 1, routes: [{ name: 'x', source: 'generic', to: [], secret: 'short' }] })]) {
      await writeFile(path, damaged)
      const refused = await startBridgeBot(network, { admin, dataDir }).then(() => undefined, (err: unknown) => err)
      expect(refused).toBeInstanceOf(DataDirectoryError)
      expect((refused as Error).message).toContain(path)
      expect(await readFile(path, 'utf8')).toBe(damaged)
    }
  })
})
