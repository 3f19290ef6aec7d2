/**
 * Group commit for a LevelDB: batches asked for while one is being written
 * are written together next. Each is still all or nothing and resolves once
 * it is on disk; a busy peer or bot makes one write for the work of many
 * messages of many groups instead of several each. A write not behind
 * another starts at the end of the event loop's turn (`setImmediate`), so
 * that the batches asked for in the same turn go with it: an idle peer waits
 * for nothing more, and a busy echo bot made about a quarter fewer writes
 * (each costs about 100 µs of CPU on a loaded machine, half of it in the
 * kernel, as the database's thread is woken and wakes the loop back).
 *
 * Writes that a crash may lose without harm, because the next start does
 * them again (a record that only saves work, a clean-up), wait for the next
 * batch instead of making one of their own: `later`. Each database write
 * costs the event loop about as much as a message's signature check, and a
 * message's path makes several.
 */

/** How long a write made `later` waits at most for a batch to ride with. */
export const LATER_MAX_DELAY_MS = 100

interface Queued { ops: unknown[], later: boolean, resolve: () => void, reject: (err: unknown) => void }

export class GroupCommit<Op> {
  readonly #write: (ops: Op[]) => Promise<void>
  readonly #queued: Queued[] = []
  #writing: Promise<void> | undefined
  /** Set while only `later` writes wait: they go by themselves when it fires. */
  #laterTimer: NodeJS.Timeout | undefined
  /** Set while a write is to start at the end of this turn. */
  #startingSoon = false

  constructor (write: (ops: Op[]) => Promise<void>) {
    this.#write = write
  }

  async batch (ops: Op[]): Promise<void> {
    if (ops.length === 0) return
    await new Promise<void>((resolve, reject) => {
      this.#queued.push({ ops, later: false, resolve, reject })
      if (this.#writing === undefined) this.#startSoon()
    })
  }

  /**
   * Writes `ops` with the next batch, or within `LATER_MAX_DELAY_MS` if none
   * comes; resolves once they are on disk. Only for writes whose loss in a
   * crash the next start makes good. In order with the other writes: a batch
   * asked for after this one is not written before it.
   */
  async later (ops: Op[]): Promise<void> {
    if (ops.length === 0) return
    await new Promise<void>((resolve, reject) => {
      this.#queued.push({ ops, later: true, resolve, reject })
      if (this.#writing === undefined) this.#armLater()
    })
  }

  #startSoon (): void {
    if (this.#startingSoon) return
    this.#startingSoon = true
    setImmediate(() => {
      this.#startingSoon = false
      if (this.#writing === undefined) this.#flush()
    })
  }

  #armLater (): void {
    if (this.#laterTimer !== undefined) return
    this.#laterTimer = setTimeout(() => {
      this.#laterTimer = undefined
      if (this.#writing === undefined) this.#flush()
    }, LATER_MAX_DELAY_MS)
    // What waits is written by `idle()` before the database closes; the timer alone keeps nothing alive.
    this.#laterTimer.unref()
  }

  /** Writes what waits, then resolves once nothing is being written or waiting to be (before closing the database). */
  async idle (): Promise<void> {
    while (this.#writing !== undefined || this.#queued.length > 0) {
      if (this.#writing === undefined) this.#flush()
      await this.#writing
    }
  }

  #flush (): void {
    clearTimeout(this.#laterTimer)
    this.#laterTimer = undefined
    const queued = this.#queued.splice(0)
    if (queued.length === 0) return
    this.#writing = (async () => {
      try {
        await this.#write(queued.flatMap((q) => q.ops as Op[]))
        for (const q of queued) q.resolve()
      } catch (err) {
        // One bad batch must not fail the others written with it: try each alone.
        if (queued.length === 1) {
          queued[0]?.reject(err)
          return
        }
        for (const q of queued) await this.#write(q.ops as Op[]).then(q.resolve, q.reject)
      }
    })().finally(() => {
      this.#writing = undefined
      if (this.#queued.some((q) => !q.later)) this.#flush()
      else if (this.#queued.length > 0) this.#armLater()
    })
  }
}
