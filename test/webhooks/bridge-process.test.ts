/**
 * `bertybot bridge` in a process of its own, as an operator runs it: its
 * usage and its refusals of a wrong command line or .env; killed with `kill -9` the
 * moment it answered a webhook with 202, and restarted on the same data
 * directory and port, it still posts that webhook, once; it keeps its
 * routes and their secrets; on SIGTERM it sends what is queued and exits 0.
 *
 * The admin is a real peer in the test's process; everything listens on
 * 127.0.0.1 (the peer on a system-chosen port, the webhooks on a free port
 * the test picks, the same across restarts, as a sender's URL needs).
 */
import { writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bridgeSettingsSchema } from 'bertybot/bridge'
import { decodeContactLink, type Group, type MessageEvent } from 'bertybot/protocol'
import { createTestNetwork, type TestNetwork, type TestUser } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { accountOf, ask, BotProcess, cleanUp, meetBot } from '../helpers/bot-process.ts'
import { Inbox, pollUntil, waitFor } from '../helpers/wait.ts'

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const INTRO = /^Hello! I bridge webhooks/
const ROUNDS = 3
/** For each wait on the network: generous, for a loaded machine. */
const TIMEOUT_MS = 120_000

let network: TestNetwork | undefined
afterEach(async ({ task }) => {
  await cleanUp(task.result?.state === 'fail')
  await network?.stop()
  network = undefined
})

/** The environment of every bridge process here: loopback only, JSON logs. */
// Logs as verbose as they get: none of them may hold a route's secret.
const ENV = { BERTYBOT_LISTEN: '/ip4/127.0.0.1/tcp/0', BERTYBOT_LOG_FORMAT: 'json', BERTYBOT_LOG_LEVEL: 'trace' }

/** `bertybot <args>`, in `cwd`. */
function bertybot (cwd: string, args: string[]): BotProcess {
  return new BotProcess({ cwd, env: ENV, entry: CLI, args })
}

/** A TCP port nothing listens on now. */
async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => { resolve() })
  })
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  return port
}

interface BridgeRun {
  dir: string
  port: number
  adminLink: string
}

/** Starts `bertybot bridge` and waits until it serves webhooks on the run's port. */
async function startBridge (run: BridgeRun): Promise<{ bot: BotProcess, link: string }> {
  const bot = bertybot(run.dir, ['bridge', '--data', join(run.dir, 'data'), '--listen', `127.0.0.1:${run.port}`, '--admin', run.adminLink])
  const link = await bot.link()
  await bot.until('the bridge to print where it takes webhooks', () => {
    if (bot.stdout.includes(`webhooks at http://127.0.0.1:${run.port}/hooks/<source>/<route>\n`)) return true
    if (bot.exit !== undefined) throw new Error(`the bridge exited (${bot.exit.code ?? bot.exit.signal}):\n${bot.stdout}`)
    return undefined
  }, 30_000)
  return { bot, link }
}

interface Posted {
  status: number
  /** The answer's body, if it was read to its end. */
  body: Record<string, unknown> | undefined
}

/**
 * POSTs `text` as text/plain on a connection of its own (none is reused
 * across a kill); `onStatus` runs as soon as the status line is in, before
 * the body is read.
 */
async function post (url: string, text: string, headers: Record<string, string>, onStatus?: (status: number) => void): Promise<Posted> {
  return await new Promise<Posted>((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(text)), ...headers }
    }, (res) => {
      const status = res.statusCode ?? 0
      onStatus?.(status)
      let raw = ''
      res.setEncoding('utf8').on('data', (chunk: string) => { raw += chunk })
      res.on('error', () => {})
      res.on('close', () => {
        let body: Record<string, unknown> | undefined
        try {
          body = res.complete ? JSON.parse(raw) as Record<string, unknown> : undefined
        } catch { /* not JSON */ }
        resolve({ status, body })
      })
    })
    req.on('error', reject)
    req.end(text)
  })
}

const bearer = (secret: string): Record<string, string> => ({ authorization: `Bearer ${secret}` })

/** The libp2p peer id of the process whose contact link is `link`. */
function peerIdOf (link: string): string {
  const id = decodeContactLink(link).hints.map((hint) => /\/p2p\/(\w+)$/.exec(hint)?.[1]).find((id) => id !== undefined)
  if (id === undefined) throw new Error(`no peer id in the hints of ${link}`)
  return id
}

interface Setup extends BridgeRun {
  admin: TestUser
  bot: BotProcess
  botAccount: string
  /** The bridge's libp2p peer id (the same after a restart: it is in the data directory). */
  botPeer: string
  /** The admin's group the bot was invited to: the route posts there. */
  ops: Group
  url: string
  secret: string
  /** What the bot posted in `ops`, in the order the admin got it. */
  posted: () => string[]
  /** Every message the admin got since the setup began. */
  inbox: Inbox<MessageEvent>
}

/**
 * An admin meets a bridge process, brings it into a group "ops", and makes
 * the route `ops` (generic) to it from the 1:1 conversation.
 */
async function bridgeWithRoute (net: TestNetwork): Promise<Setup> {
  const admin = await net.user('admin')
  const inbox = new Inbox<MessageEvent>(admin.peer, 'message')
  const run = { dir: await net.tempDir('bridge-process'), port: await freePort(), adminLink: admin.peer.contactLink() }
  const { bot, link } = await startBridge(run)
  const botAccount = accountOf(link)
  const direct = await meetBot(admin, link, { intro: INTRO, timeoutMs: TIMEOUT_MS })

  const ops = await admin.peer.createGroup({ name: 'ops' })
  const contact = admin.peer.contact(botAccount)
  if (contact?.group === undefined) throw new Error('the admin has no conversation with the bot')
  await contact.group.sendInvitation(ops.invitation())
  admin.open(direct)
  expect(await admin.nextReply({ timeoutMs: TIMEOUT_MS })).toMatch(/^I joined "ops"\./)

  const answer = await ask(admin, '/bridge add ops generic --to ops', TIMEOUT_MS)
  const url = /^URL: (\S+)$/m.exec(answer)?.[1]
  const secret = /^Secret: (\S+)$/m.exec(answer)?.[1]
  if (url === undefined || secret === undefined) throw new Error(`no URL and secret in "${answer}"`)
  expect(url).toBe(`http://127.0.0.1:${run.port}/hooks/generic/ops`)
  const posted = (): string[] => inbox.items.filter((m) => m.group.id === ops.id && m.sender.account === botAccount).map((m) => m.text)
  return { ...run, admin, bot, botAccount, botPeer: peerIdOf(link), ops, url, secret, posted, inbox }
}

/** The log lines at level error or above of these processes. */
const errorsLogged = (processes: BotProcess[]): unknown[] => processes.flatMap((p) => p.logLines().filter((l) => l.level >= 50))

describe('bertybot bridge, run as an operator runs it', () => {
  it('prints its usage naming every option and variable; refuses to start without an admin, with a bad --listen, or a bad setting in ./.env', async () => {
    network = await createTestNetwork()
    const dir = await network.tempDir('bridge-cli')

    const help = bertybot(dir, ['bridge', '--help'])
    expect(await help.exitWithin(60_000)).toEqual({ code: 0, signal: null })
    expect(help.stdout).toMatch(/^Usage: bertybot bridge /)
    const variables = ['BRIDGE_ADMINS', ...Object.keys(bridgeSettingsSchema.shape)]
    for (const name of ['--data', '--listen', '--admin', ...variables]) expect(help.stdout, name).toContain(name)
    expect(help.stderr).toBe('')

    const port = await freePort()
    const noAdmin = bertybot(dir, ['bridge', '--data', join(dir, 'data'), '--listen', `127.0.0.1:${port}`])
    expect(await noAdmin.exitWithin(60_000)).toEqual({ code: 1, signal: null })
    expect(noAdmin.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^bertybot: BRIDGE_ADMINS: /)])
    expect(noAdmin.stdout).toBe('')

    const anyAdmin = Buffer.alloc(32, 7).toString('base64url')
    for (const listen of ['nope:xx', '127.0.0.1:99999', 'localhost']) {
      const badListen = bertybot(dir, ['bridge', '--data', join(dir, 'data'), '--listen', listen, '--admin', anyAdmin])
      const exit = await badListen.exitWithin(60_000)
      expect(exit.code, listen).not.toBe(0)
      expect(exit.code, listen).not.toBeNull()
      expect(badListen.stderr.trimEnd().split('\n'), listen).toEqual([`bertybot: --listen: "${listen}" is not an address to listen on: off, a port (8080) or host:port (0.0.0.0:8080)`])
      expect(badListen.stdout, listen).toBe('')
    }

    // ./.env is read, as the usage says: its admin counts, and its wrong setting is named.
    const withDotenv = await network.tempDir('bridge-dotenv')
    await writeFile(join(withDotenv, '.env'), `BRIDGE_ADMINS=${anyAdmin}\nBRIDGE_MESSAGES_PER_MINUTE=0\n`)
    const fromDotenv = bertybot(withDotenv, ['bridge', '--data', join(withDotenv, 'data'), '--listen', `127.0.0.1:${port}`])
    expect(await fromDotenv.exitWithin(60_000)).toEqual({ code: 1, signal: null })
    expect(fromDotenv.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^bertybot: BRIDGE_MESSAGES_PER_MINUTE: /)])
  }, 240_000)

  it(`posts a webhook answered with 202 exactly once though killed with kill -9 at the 202, ${ROUNDS} times; keeps its route across restarts`, async () => {
    network = await createTestNetwork()
    const setup = await bridgeWithRoute(network)
    const { admin, botAccount, botPeer, url, secret, posted, inbox } = setup
    let bot = setup.bot
    const processes = [bot]

    const rounds: Array<{ text: string, atKill: boolean, beforeRestart: boolean, restartMs: number, deliveredMs: number }> = []
    for (let round = 1; round <= ROUNDS; round++) {
      const text = `webhook ${round}: disk 9${round}% full on db-${round}`
      let atKill: boolean | undefined
      const killed = bot
      const answer = await post(url, text, bearer(secret), (status) => {
        if (status !== 202) return
        // Now, before anything else: whether the admin has it already, and the kill.
        atKill = posted().includes(text)
        killed.signal('SIGKILL')
      })
      expect(answer.status).toBe(202)
      if (answer.body !== undefined) expect(answer.body.id).toMatch(/^[0-9a-f-]{36}$/)
      expect(await killed.exited).toEqual({ code: null, signal: 'SIGKILL' })
      // Once the admin saw its connection to the killed process close, nothing that process sent is on the
      // way any more: if the admin lacks the webhook then, only the next process can post it.
      await pollUntil('the admin to see the killed bridge gone', () => !admin.peer.connectedPeers().includes(botPeer))
      const beforeRestart = posted().includes(text)

      const restarting = Date.now()
      const restarted = await startBridge(setup)
      // The same account, on the same data directory and the same webhook port.
      expect(accountOf(restarted.link)).toBe(botAccount)
      expect(peerIdOf(restarted.link)).toBe(botPeer)
      bot = restarted.bot
      processes.push(bot)
      const restartMs = Date.now() - restarting
      await inbox.until(`the admin to have "${text}" in ops after restart ${round}`, () => posted().includes(text), TIMEOUT_MS)
      rounds.push({ text, atKill: atKill ?? true, beforeRestart, restartMs, deliveredMs: Date.now() - restarting - restartMs })
    }

    // The restarted bridge kept the route: its secret works (above), another does not, and posts nothing.
    const wrong = await post(url, 'from someone without the secret', bearer(`${secret.slice(0, -4)}xxxx`))
    expect(wrong).toEqual({ status: 401, body: { error: 'unauthorized' } })
    expect((await post(url, 'no secret at all', {})).status).toBe(401)

    // A probe through the same route, from a bridge not killed: once it is in, so is anything posted before it.
    const probe = await post(url, 'probe: the last one', bearer(secret))
    expect(probe.status).toBe(202)
    await inbox.until('the admin to have the probe in ops', () => posted().includes('probe: the last one'), TIMEOUT_MS)
    expect(posted()).toEqual([...rounds.map((r) => r.text), 'probe: the last one'])

    console.info(`bridge kill -9 rounds: ${JSON.stringify(rounds)}`)
    // Some kill landed between the 202 and the delivery: the durable outbox did the work there.
    expect(rounds.some((r) => !r.atKill), JSON.stringify(rounds)).toBe(true)
    expect(errorsLogged(processes)).toEqual([])
    for (const bridge of processes) expect(bridge.stderr).not.toContain(secret)
  }, 600_000)

  it('stops on SIGTERM: posts the webhook it just accepted, then its process exits with code 0', async () => {
    network = await createTestNetwork()
    const { admin, bot, botPeer, url, secret, posted, inbox } = await bridgeWithRoute(network)
    const text = 'closing time: the backup finished'
    let atSignal: boolean | undefined
    const answer = await post(url, text, bearer(secret), (status) => {
      if (status !== 202) return
      atSignal = posted().includes(text)
      bot.signal('SIGTERM')
    })
    expect(answer.status).toBe(202)
    expect(await bot.exitWithin(30_000)).toEqual({ code: 0, signal: null })
    await inbox.until('the admin to have the webhook accepted before SIGTERM', () => posted().includes(text), TIMEOUT_MS)
    expect(posted()).toEqual([text])
    expect(errorsLogged([bot])).toEqual([])
    console.info(`bridge SIGTERM: the webhook was at the admin when the signal was sent: ${atSignal}; still connected to it: ${admin.peer.connectedPeers().includes(botPeer)}`)
  }, 300_000)
})
