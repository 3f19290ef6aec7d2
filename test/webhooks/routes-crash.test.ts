/**
 * A bridge killed with kill -9 right after `/bridge add`: the route and the
 * command's answer are committed together, so after the restart there is
 * either both (the answer is sent, the command is not handled again) or
 * neither (the command is handled again); the admin gets one answer, and its
 * secret is the one the bridge serves.
 *
 * The bridge runs in a process of its own (`test/fixtures/bridge-process.ts`),
 * which kills itself at a chosen point, or is killed by the test the moment it
 * begins to handle the command; the admin is a real peer in the test's
 * process, everything on 127.0.0.1.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Group, MessageEvent } from 'bertybot/protocol'
import { createTestNetwork, type TestNetwork, type TestUser } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { accountOf } from '../helpers/bot-process.ts'
import { Inbox, waitFor } from '../helpers/wait.ts'
import { bearer, post } from './bridge-helpers.ts'

const script = fileURLToPath(new URL('../fixtures/bridge-process.ts', import.meta.url))
/** For each wait on the network: generous, for a loaded machine. */
const TIMEOUT_MS = 120_000

interface Started {
  link: string
  port: number
  /** The routes served before any event was taken: what the data directory held. */
  routes: Array<{ name: string, secret: string }>
}

interface Exit { code: number | null, signal: NodeJS.Signals | null }

/** One run of the bridge process. */
class BridgeProcess {
  readonly child: ChildProcess
  /** The `/bridge add` commands it began to handle, in order. */
  readonly handling: Array<{ route: string, message: string }> = []
  readonly started: Promise<Started>
  readonly exited: Promise<Exit>
  readonly #onHandling = new Set<(route: string) => void>()

  constructor (options: { dataDir: string, admin: string, die?: { route: string, at: 'handled' | 'committed' } }) {
    this.child = fork(script, [JSON.stringify(options)], { execArgv: ['--conditions=bertybot-source'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    running.add(this.child)
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        running.delete(this.child)
        resolve({ code, signal })
      })
    })
    this.started = waitFor<Started>('the bridge process to start', (done) => {
      const listener = (message: unknown): void => {
        const { started, handling } = message as { started?: Started, handling?: { route: string, message: string } }
        if (handling !== undefined) {
          this.handling.push(handling)
          for (const listener of this.#onHandling) listener(handling.route)
        }
        if (started !== undefined) done(started)
      }
      this.child.on('message', listener)
      // Kept after the start: the handling reports come later.
      return () => {}
    }, 60_000)
    this.started.catch(() => {})
  }

  /** Kills the process with SIGKILL the moment it begins to handle `/bridge add <route>`. */
  killWhenHandling (route: string): void {
    this.#onHandling.add((handled) => { if (handled === route) this.child.kill('SIGKILL') })
  }

  /** Waits until it began to handle `/bridge add <route>`. */
  async handlingOf (route: string): Promise<void> {
    await waitFor(`the bridge process to handle /bridge add ${route}`, (done) => {
      const listener = (handled: string): void => { if (handled === route) done(undefined) }
      this.#onHandling.add(listener)
      if (this.handling.some((h) => h.route === route)) done(undefined)
      return () => { this.#onHandling.delete(listener) }
    }, TIMEOUT_MS)
  }
}

const running = new Set<ChildProcess>()
let network: TestNetwork | undefined
afterEach(async () => {
  for (const child of running) child.kill('SIGKILL')
  await network?.stop()
  network = undefined
})

/** The bot's answers to `/bridge add <route>` in `direct`, as the admin got them. */
function answersTo (inbox: Inbox<MessageEvent>, direct: Group, botAccount: string, route: string): string[] {
  return inbox.items
    .filter((m) => m.group.id === direct.id && m.sender.account === botAccount && m.text.startsWith(`Route ${route} (generic) posts to ops.`))
    .map((m) => m.text)
}

const secretIn = (answer: string | undefined): string | undefined => /^Secret: (\S+)$/m.exec(answer ?? '')?.[1]

/** The admin meets the bridge and brings it into a new group "ops"; opens their 1:1 conversation. */
async function adminWithGroup (admin: TestUser, link: string): Promise<{ direct: Group, ops: Group }> {
  const botAccount = accountOf(link)
  const direct = await admin.addContact(link, { timeoutMs: TIMEOUT_MS })
  const ops = await admin.peer.createGroup({ name: 'ops' })
  const joined = waitFor('the bridge to join ops', (done) => {
    const listener = (e: { group: Group, member: { account: string } }): void => { if (e.group.id === ops.id && e.member.account === botAccount) done(true) }
    admin.peer.on('memberJoined', listener)
    return () => { admin.peer.off('memberJoined', listener) }
  }, TIMEOUT_MS)
  await direct.sendInvitation(ops.invitation())
  await joined
  admin.open(direct)
  return { direct, ops }
}

describe('a bridge killed with kill -9 right after /bridge add', () => {
  it('keeps the route and its answer, or neither: after the restart the admin has one answer, whose secret works', async () => {
    network = await createTestNetwork()
    const admin = await network.user('admin')
    const inbox = new Inbox<MessageEvent>(admin.peer, 'message')
    const dataDir = await network.tempDir('bridge-crash')
    const start = (die?: { route: string, at: 'handled' | 'committed' }): BridgeProcess =>
      new BridgeProcess({ dataDir, admin: admin.peer.accountId, ...(die === undefined ? {} : { die }) })

    let bridge = start({ route: 'one', at: 'handled' })
    const { link } = await bridge.started
    const botAccount = accountOf(link)
    const { direct, ops } = await adminWithGroup(admin, link)
    const answers = (route: string): string[] => answersTo(inbox, direct, botAccount, route)

    // Killed once the handler ran, before its commit: neither survives, and the command is handled again.
    await admin.send('/bridge add one generic --to ops')
    expect(await bridge.exited).toEqual({ code: null, signal: 'SIGKILL' })
    bridge = start({ route: 'two', at: 'committed' })
    let started = await bridge.started
    expect(started.routes.map((r) => r.name)).toEqual([])
    await bridge.handlingOf('one')
    await inbox.until('the answer to /bridge add one', () => answers('one').length > 0, TIMEOUT_MS)
    expect(bridge.handling.map((h) => h.route)).toEqual(['one'])

    // Killed right after the commit: both survive; the answer is sent from the outbox, the command is not handled again.
    await admin.send('/bridge add two generic --to ops')
    expect(await bridge.exited).toEqual({ code: null, signal: 'SIGKILL' })
    bridge = start()
    started = await bridge.started
    expect(started.routes.map((r) => r.name)).toEqual(['one', 'two'])
    await inbox.until('the answer to /bridge add two', () => answers('two').length > 0, TIMEOUT_MS)
    expect(secretIn(answers('two')[0])).toBe(started.routes.find((r) => r.name === 'two')?.secret)

    // Killed by the test as the bridge begins to handle the command: wherever the kill landed, both or neither.
    bridge.killWhenHandling('three')
    await admin.send('/bridge add three generic --to ops')
    expect(await bridge.exited).toEqual({ code: null, signal: 'SIGKILL' })
    bridge = start()
    started = await bridge.started
    const keptAtKill = started.routes.some((r) => r.name === 'three')
    if (!keptAtKill) await bridge.handlingOf('three')
    await inbox.until('the answer to /bridge add three', () => answers('three').length > 0, TIMEOUT_MS)

    // A command after them all: once it is answered, the conversation's earlier commands were handled and answered.
    await admin.send('/bridge list')
    await inbox.until('the answer to /bridge list', () => inbox.items.some((m) => m.group.id === direct.id && m.text.startsWith('Webhook routes:')), TIMEOUT_MS)
    expect(bridge.handling.map((h) => h.route)).toEqual(keptAtKill ? [] : ['three'])
    console.info(`the kill at the start of /bridge add three left the route and its answer: ${keptAtKill}`)

    // One answer to each command, and the secret it tells is the one served.
    const port = (await bridge.started).port
    admin.open(ops)
    for (const route of ['one', 'two', 'three']) {
      expect(answers(route), route).toHaveLength(1)
      const secret = secretIn(answers(route)[0]) ?? ''
      const url = `http://127.0.0.1:${port}/hooks/generic/${route}`
      expect((await post(url, `through ${route}`, bearer(`${secret.slice(0, -4)}xxxx`))).status, route).toBe(401)
      expect((await post(url, `through ${route}`, bearer(secret))).status, route).toBe(202)
      expect(await admin.nextReply({ timeoutMs: TIMEOUT_MS })).toBe(`through ${route}`)
    }
  }, 480_000)
})
