import { fork, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { fileURLToPath } from 'node:url'
import { afterAll } from 'vitest'
import { waitFor, DEFAULT_TIMEOUT_MS } from './wait.ts'

const script = fileURLToPath(new URL('../fixtures/peer-process.ts', import.meta.url))
const running = new Set<PeerProcess>()

export interface ChildMessage {
  group: string
  id: string
  text: string
  replyTo?: string
  sender: { account: string, device: string, displayName?: string }
  sentAt: number
}

export interface PeerProcessOptions {
  dataDir: string
  displayName?: string
  /** Where to listen (createPeer's `listen`); loopback by default. */
  listen?: string[]
  /** createPeer's `mdns`. */
  mdns?: boolean
  /** A network namespace to run in (`ip netns exec`), as the tests of the local network make. */
  netns?: string
  /** Another script under test/fixtures that speaks the same IPC (test/fixtures/removed-member.ts); peer-process.ts by default. */
  fixture?: string
}

/** A peer running in its own Node process, as in real use. */
export class PeerProcess extends EventEmitter {
  readonly child: ChildProcess
  accountId = ''
  deviceId = ''
  peerId = ''
  multiaddrs: string[] = []
  readonly messages: ChildMessage[] = []
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  #nextId = 0
  readonly #pending = new Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>()

  private constructor ({ netns, fixture, ...options }: PeerProcessOptions) {
    super()
    // In a namespace, `ip netns exec` runs Node in place (it execs): the child is still the Node process, its IPC channel inherited.
    const runner = netns === undefined
      ? { execArgv: ['--conditions=bertybot-source'] }
      : { execPath: 'ip', execArgv: ['netns', 'exec', netns, process.execPath, '--conditions=bertybot-source'] }
    this.child = fork(fixture === undefined ? script : fileURLToPath(new URL(`../fixtures/${fixture}`, import.meta.url)), [JSON.stringify(options)], {
      ...runner,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    })
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        running.delete(this)
        for (const { reject } of this.#pending.values()) reject(new Error(`peer process exited (${code ?? signal})`))
        this.#pending.clear()
        resolve({ code, signal })
      })
    })
    this.child.on('message', (raw) => {
      const message = raw as { type: string, [k: string]: any }
      if (message.type === 'ready') {
        this.accountId = message.accountId
        this.deviceId = message.deviceId
        this.peerId = message.peerId
        this.multiaddrs = message.multiaddrs
        this.emit('ready')
      } else if (message.type === 'event') {
        if (message.name === 'message') this.messages.push(message.data)
        this.emit(message.name, message.data)
      } else if (message.type === 'reply') {
        const pending = this.#pending.get(message.id)
        this.#pending.delete(message.id)
        if (message.error !== undefined) pending?.reject(new Error(message.error))
        else pending?.resolve(message.result)
      }
    })
  }

  static async start (options: PeerProcessOptions): Promise<PeerProcess> {
    const proc = new PeerProcess(options)
    running.add(proc)
    await Promise.race([
      // A process loads the whole stack before it is ready: generous, for a loaded machine.
      waitFor(`peer process ${options.displayName ?? ''} to start`, (done) => { proc.once('ready', done); return () => proc.off('ready', done) }, 90_000),
      proc.exited.then(({ code }) => { throw new Error(`peer process exited before it was ready (code ${code})`) })
    ])
    return proc
  }

  async call<T = unknown> (method: string, ...args: unknown[]): Promise<T> {
    const id = this.#nextId++
    return await new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.child.send({ id, method, args })
    })
  }

  /** Waits until `predicate` holds over the messages received so far. */
  async messagesUntil (what: string, predicate: (messages: ChildMessage[]) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ChildMessage[]> {
    return await waitFor(what, (done) => {
      const check = (): void => { if (predicate(this.messages)) done(this.messages) }
      this.on('message', check)
      check()
      return () => { this.off('message', check) }
    }, timeoutMs)
  }

  /** Stops the peer, then waits for the process to end on its own. */
  async stop (timeoutMs = 20_000): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
    await this.call('stop')
    return await Promise.race([
      this.exited,
      new Promise<never>((_resolve, reject) => setTimeout(() => { reject(new Error(`peer process still running ${timeoutMs} ms after stop: something keeps it alive`)) }, timeoutMs).unref())
    ])
  }
}

afterAll(async () => {
  for (const proc of running) proc.child.kill('SIGKILL')
  await Promise.all([...running].map(async (p) => await p.exited))
})
