/**
 * A transaction of the bot store: the effects handlers have while they run
 * (state written and read, messages queued, the event marked handled, a
 * schedule's run), kept in memory, then committed in one atomic batch, or
 * not at all. The store (`store.ts`) checks at commit that no state it read
 * was written since.
 */
import { randomUUID } from 'node:crypto'
import { TransactionError } from './errors.ts'
import { json, seqKey, OUTBOX_ONCE_PREFIX, type OutboxItem, type StoreOp, type Sublevel } from './store-records.ts'

/** What a transaction needs of the bot store (`BotStore`). */
export interface TransactionStore {
  getState: (scope: string, key: string) => Promise<unknown>
  stateVersion: (key: string) => number
  commitBatch: (ops: StoreOp[], reads: ReadonlyMap<string, number>, writes: Iterable<string>, handled: readonly string[]) => Promise<void>
  ops: () => { journal: Sublevel, state: Sublevel, outbox: Sublevel, schedules: Sublevel, nextSeq: () => number }
}

/** What a transaction had written at one point (`savepoint()`), to go back to (`rollback()`). */
export interface Savepoint {
  readonly state: ReadonlyMap<string, unknown>
  readonly outbox: number
  readonly afterCommit: number
}

/** Effects collected while handlers run, committed at once (or not at all). */
export class Transaction {
  readonly #store: TransactionStore
  readonly #state = new Map<string, unknown>()
  /** State keys read from the store, with the version they had. */
  readonly #reads = new Map<string, number>()
  readonly #outbox: Array<Omit<OutboxItem, 'seq'>> = []
  readonly #marks: Array<{ journal?: string, schedule?: { name: string, lastRun: number } }> = []
  readonly #afterCommit: Array<() => void> = []
  #committed = false

  constructor (store: TransactionStore) {
    this.#store = store
  }

  /** Reads state, seeing this transaction's own writes first. */
  async get (scope: string, key: string): Promise<unknown> {
    const k = `${scope}/${key}`
    if (this.#state.has(k)) return this.#state.get(k)
    if (!this.#reads.has(k)) this.#reads.set(k, this.#store.stateVersion(k))
    return await this.#store.getState(scope, key)
  }

  set (scope: string, key: string, value: unknown): void {
    if (value === undefined) throw new TypeError('state values cannot be undefined: use delete()')
    // JSON round trip now: a value that cannot be stored fails in the handler, not at commit.
    this.#state.set(`${scope}/${key}`, JSON.parse(JSON.stringify(value)))
  }

  delete (scope: string, key: string): void {
    this.#state.set(`${scope}/${key}`, undefined)
  }

  send (message: Omit<OutboxItem, 'seq' | 'sealed'>): void {
    this.#outbox.push(message)
  }

  /** Records that the event `key` was handled, in the same batch. */
  handled (key: string): void {
    this.#marks.push({ journal: key })
  }

  scheduleRan (name: string, lastRun: number): void {
    this.#marks.push({ schedule: { name, lastRun } })
  }

  /** Runs `fn` once this transaction is committed; never if it is discarded or not committed. */
  afterCommit (fn: () => void): void {
    this.#afterCommit.push(fn)
  }

  /** Drops what the handlers did (they failed); marks and later writes may still be added. */
  discard (): void {
    this.#state.clear()
    this.#reads.clear()
    this.#outbox.length = 0
    this.#afterCommit.length = 0
  }

  /** What has been written so far, to undo what follows with `rollback`. */
  savepoint (): Savepoint {
    return { state: new Map(this.#state), outbox: this.#outbox.length, afterCommit: this.#afterCommit.length }
  }

  /**
   * Undoes the writes, messages and callbacks since `point` (a dialogue
   * replaying steps it already took). What was read stays read: a commit
   * still fails if it changed meanwhile.
   */
  rollback (point: Savepoint): void {
    this.#state.clear()
    for (const [key, value] of point.state) this.#state.set(key, value)
    this.#outbox.length = Math.min(this.#outbox.length, point.outbox)
    this.#afterCommit.length = Math.min(this.#afterCommit.length, point.afterCommit)
  }

  /** What to run now that the commit is done (the caller runs them, so that their errors are its to log). */
  committedCallbacks (): Array<() => void> {
    return this.#committed ? this.#afterCommit.splice(0) : []
  }

  /**
   * Writes everything at once; resolves with the outbox items it queued.
   * Rejects with `StateConflictError`, writing nothing, if state it read was
   * changed by another commit meanwhile.
   */
  async commit (): Promise<OutboxItem[]> {
    if (this.#committed) throw new TransactionError('transaction already committed')
    this.#committed = true
    const { journal, state, outbox, schedules, nextSeq } = this.#store.ops()
    const ops: StoreOp[] = []
    for (const [key, value] of this.#state) {
      ops.push(value === undefined ? { type: 'del', sublevel: state, key } : { type: 'put', sublevel: state, key, value: json(value) })
    }
    // `once`: outbox positions start again once it is empty, so each message gets a key of its own.
    const queued = this.#outbox.map((message) => ({ seq: nextSeq(), ...message, once: `${OUTBOX_ONCE_PREFIX}${randomUUID()}` }))
    for (const { seq, ...message } of queued) ops.push({ type: 'put', sublevel: outbox, key: seqKey(seq), value: json(message) })
    const handled: string[] = []
    for (const mark of this.#marks) {
      if (mark.journal !== undefined) {
        ops.push({ type: 'put', sublevel: journal, key: mark.journal, value: new Uint8Array() })
        handled.push(mark.journal)
      }
      if (mark.schedule !== undefined) ops.push({ type: 'put', sublevel: schedules, key: mark.schedule.name, value: json({ lastRun: mark.schedule.lastRun }) })
    }
    await this.#store.commitBatch(ops, this.#reads, this.#state.keys(), handled)
    return queued
  }
}
