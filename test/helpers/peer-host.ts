/**
 * Many peers in a process of their own (test/fixtures/peer-host.ts), for
 * tests at scale: `PeerHost.start(n)` forks a process running `n` peers,
 * each with its own temp data directory; their events arrive here tagged
 * with the peer's index in that host.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { DhtMode } from 'bertybot/protocol'
import { afterAll } from 'vitest'
import { tempDir } from './temp.ts'
import { waitFor } from './wait.ts'

const script = fileURLToPath(new URL('../fixtures/peer-host.ts', import.meta.url))
const running = new Set<PeerHost>()

export type HostEvent =
  | { name: 'message', peer: number, data: { group: string, id: string, text: string, replyTo?: string, sender: string } }
  | { name: 'memberJoined', peer: number, data: { group: string, account: string } }
  | { name: 'contactAccepted', peer: number, data: { group: string, account: string } }

export interface HostedPeer {
  accountId: string
  multiaddrs: string[]
}

export class PeerHost {
  readonly child: ChildProcess
  peers: HostedPeer[] = []
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  readonly #listeners = new Set<(event: HostEvent) => void>()
  readonly #pending = new Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>()
  #nextId = 0

  private constructor (peers: Array<{ dataDir: string, displayName: string }>, dht: DhtMode) {
    this.child = fork(script, [JSON.stringify({ peers, dht })], {
      execArgv: ['--conditions=bertybot-source'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    })
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        running.delete(this)
        for (const { reject } of this.#pending.values()) reject(new Error(`peer host exited (${code ?? signal})`))
        this.#pending.clear()
        resolve({ code, signal })
      })
    })
    this.child.on('message', (raw) => {
      const message = raw as { type: string, [k: string]: any }
      if (message.type === 'event') {
        for (const listener of this.#listeners) listener(message as unknown as HostEvent)
      } else if (message.type === 'reply') {
        const pending = this.#pending.get(message.id)
        this.#pending.delete(message.id)
        if (message.error !== undefined) pending?.reject(new Error(message.error))
        else pending?.resolve(message.result)
      }
    })
  }

  /**
   * Forks a process running `count` peers named `${name} 0`, `${name} 1`...
   * Their DHT is off unless asked for: dozens of DHTs keeping their tables on
   * the test machine's two cores would starve every process, while in real
   * use each peer runs on a machine of its own.
   */
  static async start (count: number, options: { name: string, dht?: DhtMode, timeoutMs?: number }): Promise<PeerHost> {
    const peers = await Promise.all(Array.from({ length: count }, async (_, i) => ({ dataDir: await tempDir(), displayName: `${options.name} ${i}` })))
    const host = new PeerHost(peers, options.dht ?? 'off')
    running.add(host)
    const ready = waitFor<HostedPeer[]>(`${count} peers of ${options.name} to start`, (done) => {
      const onMessage = (raw: unknown): void => {
        const message = raw as { type: string, peers?: HostedPeer[] }
        if (message.type === 'ready' && message.peers !== undefined) done(message.peers)
      }
      host.child.on('message', onMessage)
      return () => { host.child.off('message', onMessage) }
    }, options.timeoutMs ?? 120_000)
    host.peers = await Promise.race([
      ready,
      host.exited.then(({ code }) => { throw new Error(`peer host exited before it was ready (code ${code})`) })
    ])
    return host
  }

  /** Calls `listener` with every event of this host's peers from now on; returns its removal. */
  on (listener: (event: HostEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  async call<T = unknown> (method: 'addContact' | 'createGroup' | 'joinGroup' | 'send', peer: number, ...args: unknown[]): Promise<T> {
    return await this.#call<T>(method, peer, ...args)
  }

  async #call<T> (method: string, ...args: unknown[]): Promise<T> {
    const id = this.#nextId++
    return await new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.child.send({ id, method, args })
    })
  }

  /** Stops every peer, then waits for the process to end on its own. */
  async stop (timeoutMs = 60_000): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
    await this.#call('stop')
    return await Promise.race([
      this.exited,
      new Promise<never>((_resolve, reject) => setTimeout(() => { reject(new Error(`peer host still running ${timeoutMs} ms after stop: something keeps it alive`)) }, timeoutMs).unref())
    ])
  }
}

afterAll(async () => {
  for (const host of running) host.child.kill('SIGKILL')
  await Promise.all([...running].map(async (host) => await host.exited))
})
