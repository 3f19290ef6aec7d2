/**
 * A writer and a reader in processes of their own, for the catchup and disk
 * sections: two bertybot peers in a group, or two plain @orbitdb/core peers
 * on one events log (the writer creates it, the reader opens it by address).
 * Set up, a first message has gone across, so both ends are warm.
 *
 * What reaches the reader is handed to `onArrival`: for bertybot each
 * `message` event, for plain each `update` event (stock OrbitDB emits one
 * for an entry that arrives by itself, and one for the head of what a sync
 * fetched: the entries behind it come without one).
 */
import { Cluster, type WorkerProcess } from './cluster.ts'
import { removeDirs, tempDir } from './shared.ts'

export type Side = 'plain' | 'bertybot'

const WRITER = 0
const READER = 1
/** Sending thousands of messages back to back takes minutes: far more than a command's usual limit. */
const SEND_TIMEOUT_MS = 3_600_000
const WARM_UP = 'warm-up'

/** What reached the reader: the text (or entry value), its id (entry hash), and when. */
export interface Arrival { text: string, id: string, at: number }

export class Duo {
  readonly side: Side
  readonly cluster: Cluster
  readonly dirs: { writer: string, reader: string }
  /** The group's id, or the log's address. */
  readonly #target: string
  #writerAddress = ''
  #reader: WorkerProcess | undefined
  readonly #listeners = new Set<(arrival: Arrival) => void>()

  private constructor (side: Side, cluster: Cluster, dirs: { writer: string, reader: string }, target: string) {
    this.side = side
    this.cluster = cluster
    this.dirs = dirs
    this.#target = target
    cluster.on((e) => {
      if (e.peer !== READER) return
      const arrival = e.name === 'message' && e.group === target
        ? { text: e.text, id: e.id, at: e.at }
        : e.name === 'update' && e.log === target ? { text: e.value, id: e.hash, at: e.at } : undefined
      if (arrival !== undefined) for (const listener of this.#listeners) listener(arrival)
    })
  }

  static async start (side: Side, timeoutMs: number): Promise<Duo> {
    const dirs = { writer: await tempDir(), reader: await tempDir() }
    const cluster = await Cluster.fork(1)
    try {
      const writer = await cluster.start(WRITER, side, dirs.writer, { displayName: 'writer' })
      const readerProcess = await cluster.add('reader')
      await cluster.start(READER, side, dirs.reader, { on: readerProcess, displayName: 'reader' })
      let target: string
      if (side === 'bertybot') {
        const { group, invitation } = await cluster.call('createGroup', { peer: WRITER, name: 'bench duo' })
        await cluster.call('joinGroup', { peer: READER, invitation })
        target = group
      } else {
        await cluster.connect(READER, writer.multiaddrs[0] as string, timeoutMs)
        const { address } = await cluster.call('openLog', { peer: WRITER, name: `bench-duo-${Date.now()}`, watch: false })
        await cluster.call('openLog', { peer: READER, address, watch: true })
        target = address
      }
      const duo = new Duo(side, cluster, dirs, target)
      duo.#writerAddress = writer.multiaddrs[0] as string
      duo.#reader = readerProcess
      // Until a first message went across, the reader may not be fully in: send until one does.
      let across = false
      const stop = duo.onArrival((a) => { if (a.text === WARM_UP) across = true })
      const deadline = performance.now() + timeoutMs
      while (!across) {
        if (performance.now() > deadline) throw new Error(`no first message reached the reader within ${timeoutMs / 1000} s`)
        await duo.#send(WARM_UP)
        await cluster.until(() => across, 5_000)
      }
      stop()
      return duo
    } catch (err) {
      await cluster.exit()
      await removeDirs([dirs.writer, dirs.reader])
      throw err
    }
  }

  onArrival (listener: (arrival: Arrival) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  async #send (text: string): Promise<void> {
    if (this.side === 'bertybot') await this.cluster.call('send', { peer: WRITER, group: this.#target, text })
    else await this.cluster.call('add', { peer: WRITER, log: this.#target, value: text })
  }

  /** The writer sends `${i} ${TEXT}` for i in 0..count-1, back to back; resolves with their ids. */
  async sendNumbered (count: number): Promise<string[]> {
    if (this.side === 'bertybot') return (await this.cluster.call('sendNumbered', { peer: WRITER, group: this.#target, count }, SEND_TIMEOUT_MS)).ids
    return (await this.cluster.call('addNumbered', { peer: WRITER, log: this.#target, count }, SEND_TIMEOUT_MS)).hashes
  }

  /** The reader's peer stops and its process exits. */
  async stopReader (): Promise<void> {
    if (this.#reader !== undefined) await this.cluster.exitWorker(this.#reader)
    this.#reader = undefined
  }

  /**
   * The reader's process starts again on its data directory. bertybot: the
   * peer is back when createPeer resolved, and finds the writer itself.
   * Plain: when its node started and the log reopened by address; then it
   * dials the writer (a stock peer has no other way to find it).
   * Resolves with the restart time and when it ended.
   */
  async restartReader (timeoutMs: number): Promise<{ ms: number, resolvedAt: number }> {
    const reader = await this.cluster.add('reader, restarted')
    this.#reader = reader
    const started = await this.cluster.start(READER, this.side, this.dirs.reader, { on: reader })
    if (this.side === 'bertybot') return { ms: started.ms, resolvedAt: started.resolvedAt }
    const opened = await this.cluster.call('openLog', { peer: READER, address: this.#target, watch: true })
    void this.cluster.connect(READER, this.#writerAddress, timeoutMs).catch((err: unknown) => { process.stderr.write(`  the plain reader could not dial the writer: ${String(err)}\n`) })
    return { ms: started.ms + opened.ms, resolvedAt: opened.resolvedAt }
  }

  /** Every process exits; resolves with notes of processes that crashed or had to be killed. The directories stay until `remove()`. */
  async exit (): Promise<string[]> {
    return await this.cluster.exit()
  }

  async remove (): Promise<void> {
    await removeDirs([this.dirs.writer, this.dirs.reader])
  }
}
