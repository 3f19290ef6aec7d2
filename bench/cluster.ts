/**
 * The parent's side of the benchmark workers (`worker.ts`): forks them, sends
 * commands and checks the answers, hands their events to listeners, places
 * peers on processes, and at the end makes every process exit, killing and
 * reporting any that does not.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { retrying } from './shared.ts'
import { commands, fromWorker, type Args, type Op, type PeerKind, type Result, type WorkerEvent } from './worker-protocol.ts'

const WORKER = new URL('./worker.ts', import.meta.url)

/**
 * `BENCH_CPU_PROF=<dir>`: each worker process writes a V8 CPU profile there
 * when it exits (open it in Chrome's DevTools, or read its top entries with
 * `npm run profile-top -- <file>`).
 */
function profiling (): string[] {
  const dir = process.env.BENCH_CPU_PROF
  return dir === undefined || dir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`]
}
/** How long a command may take unless the caller says otherwise. */
const CALL_TIMEOUT_MS = 300_000
/** How long a worker may take to stop its peers: dozens of them on a loaded machine take a while. */
const STOP_TIMEOUT_MS = 60_000
/** How long a worker has to end on its own once its peers stopped. */
const EXIT_TIMEOUT_MS = 20_000
/** How often a long wait says how far it got. */
const PROGRESS_EVERY_MS = 15_000
/** How long to wait before dialing again a peer that refused (libp2p takes 5 new connections a second per host). */
const REDIAL_MS = 300
/** How long a worker may take to load and say it is ready. */
const READY_TIMEOUT_MS = 60_000

interface Pending { op: Op, resolve: (result: unknown) => void, reject: (err: Error) => void, timer: NodeJS.Timeout }

/** One worker process. */
export class WorkerProcess {
  readonly label: string
  readonly #child: ChildProcess
  readonly #pending = new Map<number, Pending>()
  readonly #listeners = new Set<(event: WorkerEvent) => void>()
  readonly #onCrash: (reason: string) => void
  #nextId = 0
  #exiting = false
  /** Called on the worker's `ready`. */
  #ready = (): void => {}
  /** Set once the process ended. */
  ended: string | undefined
  readonly exited: Promise<void>

  private constructor (label: string, onCrash: (reason: string) => void) {
    this.label = label
    this.#onCrash = onCrash
    // The child's stdout goes to our stderr: stdout is kept for the figures (BENCH_JSON).
    this.#child = fork(WORKER, [], { execArgv: ['--conditions=bertybot-source', '--expose-gc', ...profiling()], stdio: ['ignore', 2, 2, 'ipc'] })
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.ended = `${this.label} exited (${signal ?? `code ${code}`})`
        for (const [id, pending] of this.#pending) {
          clearTimeout(pending.timer)
          pending.reject(new Error(`${this.ended} during ${pending.op}`))
          this.#pending.delete(id)
        }
        if (!this.#exiting) this.#onCrash(this.ended)
        resolve()
      })
    })
    this.#child.on('message', (raw) => { this.#receive(raw) })
    // A send to a worker that is going away fails its call (below), not the benchmark.
    this.#child.on('error', (err) => { process.stderr.write(`${this.label}: ${err.message}\n`) })
  }

  /** Forks a worker and waits until it is ready; `onCrash` hears of an exit nobody asked for. */
  static async fork (label: string, onCrash: (reason: string) => void = () => {}): Promise<WorkerProcess> {
    const worker = new WorkerProcess(label, onCrash)
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`${label} was not ready within ${READY_TIMEOUT_MS / 1000} s`)) }, READY_TIMEOUT_MS)
      worker.#ready = () => { clearTimeout(timer); resolve() }
      void worker.exited.then(() => { clearTimeout(timer); reject(new Error(`${worker.ended ?? label} before it was ready`)) })
    }).catch(async (err: unknown) => { await worker.kill(); throw err })
    return worker
  }

  #receive (raw: unknown): void {
    const parsed = fromWorker.safeParse(raw)
    if (!parsed.success) { process.stderr.write(`${this.label} sent something unexpected: ${parsed.error.message}\n`); return }
    const message = parsed.data
    if (message.type === 'ready') { this.#ready(); return }
    if (message.type === 'events') {
      for (const event of message.events) for (const listener of this.#listeners) listener(event)
      return
    }
    const pending = this.#pending.get(message.id)
    if (pending === undefined) return
    this.#pending.delete(message.id)
    clearTimeout(pending.timer)
    if (message.type === 'failed') { pending.reject(new Error(`${this.label}, ${pending.op}: ${message.error}`)); return }
    const result = commands[pending.op].result.safeParse(message.result)
    if (result.success) pending.resolve(result.data)
    else pending.reject(new Error(`${this.label} answered ${pending.op} with something unexpected: ${result.error.message}`))
  }

  async call<K extends Op> (op: K, args: Args<K>, timeoutMs = CALL_TIMEOUT_MS): Promise<Result<K>> {
    if (this.ended !== undefined) throw new Error(`${this.ended}: cannot ${op}`)
    const id = this.#nextId++
    return await new Promise<Result<K>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`${this.label}: ${op} did not answer within ${(timeoutMs / 1000).toFixed(0)} s`))
      }, timeoutMs)
      this.#pending.set(id, { op, resolve: resolve as (result: unknown) => void, reject, timer })
      this.#child.send({ id, op, args }, (err) => {
        if (err === null || !this.#pending.has(id)) return
        clearTimeout(timer)
        this.#pending.delete(id)
        reject(new Error(`${this.label}: ${op} could not be sent: ${err.message}`))
      })
    })
  }

  /** Listens to this worker's events; returns the way to stop listening. */
  onEvent (listener: (event: WorkerEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  /** Asks the worker to stop its peers and end; kills it if it does not. Resolves with a note if it had to be killed. */
  async exit (): Promise<string | undefined> {
    if (this.ended !== undefined) return undefined
    this.#exiting = true
    let refused: string | undefined
    try {
      await this.call('exit', {}, STOP_TIMEOUT_MS)
    } catch (err) {
      refused = err instanceof Error ? err.message : String(err)
    }
    let timer: NodeJS.Timeout | undefined
    const endedInTime = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => { resolve(false) }, EXIT_TIMEOUT_MS) })
    ])
    clearTimeout(timer)
    if (endedInTime) return refused === undefined ? undefined : `${this.label} did not stop its peers cleanly: ${refused}`
    await this.kill()
    if (refused !== undefined) return `${this.label} did not stop its peers (${refused}): killed`
    return `${this.label} stopped its peers but was still running ${EXIT_TIMEOUT_MS / 1000} s later (something kept it alive): killed`
  }

  async kill (): Promise<void> {
    this.#exiting = true
    if (this.ended === undefined) this.#child.kill('SIGKILL')
    await this.exited
  }
}

/**
 * Worker processes and the peers placed on them. Peers are numbered by the
 * section; each command for a peer goes to the process that hosts it.
 */
export class Cluster {
  readonly #workers: WorkerProcess[] = []
  readonly #home = new Map<number, WorkerProcess>()
  readonly #listeners = new Set<(event: WorkerEvent) => void>()
  readonly #wakers = new Set<() => void>()
  /** What went wrong with processes: crashes, and stragglers killed at exit. */
  readonly notes: string[] = []
  /** Aborted when the cluster exits: loops that retry on its peers stop then. */
  readonly #closing = new AbortController()
  #crash: string | undefined
  #spread: WorkerProcess[] = []

  /** Forks `count` workers, over which `start` spreads peers round-robin. */
  static async fork (count: number): Promise<Cluster> {
    const cluster = new Cluster()
    try {
      cluster.#spread = await Promise.all(Array.from({ length: count }, async (_, i) => await cluster.add(`worker ${i + 1}`)))
    } catch (err) {
      await cluster.exit()
      throw err
    }
    return cluster
  }

  /** Forks one more worker (a process of its own for a bot, a restarted peer), outside the round-robin. */
  async add (label: string): Promise<WorkerProcess> {
    const worker = await WorkerProcess.fork(label, (reason) => {
      this.#crash ??= reason
      this.notes.push(reason)
      for (const wake of this.#wakers) wake()
    })
    worker.onEvent((event) => {
      for (const listener of this.#listeners) listener(event)
      for (const wake of this.#wakers) wake()
    })
    this.#workers.push(worker)
    return worker
  }

  /** Starts peer `peer` on `on`, or on the next worker of the round-robin. */
  async start (peer: number, kind: PeerKind, dataDir: string, options: { on?: WorkerProcess, displayName?: string } = {}): Promise<Result<'start'>> {
    const worker = options.on ?? this.#spread[peer % this.#spread.length]
    if (worker === undefined) throw new Error('a cluster with no worker to spread peers over')
    this.#home.set(peer, worker)
    return await worker.call('start', { peer, kind, dataDir, displayName: options.displayName })
  }

  /** A command for a peer, sent to the process that hosts it. */
  async call<K extends Op> (op: K, args: Args<K> & { peer: number }, timeoutMs?: number): Promise<Result<K>> {
    const worker = this.#home.get(args.peer)
    if (worker === undefined) throw new Error(`no peer ${args.peer} was started`)
    return await worker.call(op, args, timeoutMs)
  }

  /**
   * Dials `address` from plain peer `peer` until it connects or `timeoutMs`
   * passed: every peer here is on 127.0.0.1, and libp2p refuses more than
   * 5 new connections a second from one host.
   */
  async connect (peer: number, address: string, timeoutMs: number): Promise<void> {
    await this.retrying(async () => await this.call('dial', { peer, address }), timeoutMs, REDIAL_MS)
  }

  /** `retrying()`, given up when the cluster exits. */
  async retrying<T> (attempt: () => Promise<T>, timeoutMs: number, pauseMs?: number): Promise<T> {
    return await retrying(attempt, timeoutMs, { pauseMs, signal: this.#closing.signal })
  }

  on (listener: (event: WorkerEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  /**
   * Resolves true once `done()` holds (looked at after each event), false
   * after `timeoutMs`; rejects if a worker ended without being asked to.
   * With `progress`, says on stderr how far it got every PROGRESS_EVERY_MS.
   */
  async until (done: () => boolean, timeoutMs: number, progress?: () => string): Promise<boolean> {
    const ticker = progress === undefined ? undefined : setInterval(() => { process.stderr.write(`  ${progress()}\n`) }, PROGRESS_EVERY_MS)
    return await new Promise<boolean>((resolve, reject) => {
      const finish = (outcome: boolean | Error): void => {
        clearTimeout(timer)
        clearInterval(ticker)
        this.#wakers.delete(look)
        if (outcome instanceof Error) reject(outcome)
        else resolve(outcome)
      }
      const look = (): void => {
        if (this.#crash !== undefined) finish(new Error(this.#crash))
        else if (done()) finish(true)
      }
      const timer = setTimeout(() => { finish(done()) }, timeoutMs)
      this.#wakers.add(look)
      look()
    })
  }

  /** The summed memory (resident, and the JS heap in use) of `workers` (all by default), each after `settleMs` and a garbage collection; bytes. */
  async memory (settleMs: number, workers: WorkerProcess[] = this.#workers): Promise<{ rss: number, heapUsed: number }> {
    const reports = await Promise.all(workers.map(async (w) => await w.call('memory', { settleMs }, settleMs + CALL_TIMEOUT_MS)))
    return { rss: reports.reduce((sum, r) => sum + r.rss, 0), heapUsed: reports.reduce((sum, r) => sum + r.heapUsed, 0) }
  }

  /** The CPU time all workers have spent so far, summed, ms: what a phase cost the machine, steadier than its latencies when the machine is shared. */
  async cpuMs (): Promise<number> {
    const reports = await Promise.all(this.#workers.map(async (w) => await w.call('cpu', {})))
    return reports.reduce((sum, r) => sum + r.cpuMs, 0)
  }

  /** Makes one worker exit (its peers stop); a note if it had to be killed. */
  async exitWorker (worker: WorkerProcess): Promise<void> {
    const note = await worker.exit()
    if (note !== undefined) this.notes.push(note)
    this.#workers.splice(this.#workers.indexOf(worker), 1)
    for (const [peer, home] of this.#home) if (home === worker) this.#home.delete(peer)
  }

  /** Makes every worker exit; resolves with the notes (crashes, stragglers killed). Once all have ended, does nothing more. */
  async exit (): Promise<string[]> {
    this.#closing.abort()
    if (this.#workers.length === 0) return []
    await Promise.all([...this.#workers].map(async (w) => { await this.exitWorker(w) }))
    for (const note of this.notes) process.stderr.write(`note: ${note}\n`)
    return this.notes
  }
}
