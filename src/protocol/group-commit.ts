/**
 * Group commit for a LevelDB: batches asked for while one is being written
 * are written together next. Each is still all or nothing and resolves once
 * it is on disk; a busy peer or bot makes one write for the work of many
 * messages of many groups instead of several each, and an idle one waits for
 * nothing (the first batch is written at once).
 */
export class GroupCommit<Op> {
  readonly #write: (ops: Op[]) => Promise<void>
  readonly #queued: Array<{ ops: Op[], resolve: () => void, reject: (err: unknown) => void }> = []
  #writing: Promise<void> | undefined

  constructor (write: (ops: Op[]) => Promise<void>) {
    this.#write = write
  }

  async batch (ops: Op[]): Promise<void> {
    if (ops.length === 0) return
    await new Promise<void>((resolve, reject) => {
      this.#queued.push({ ops, resolve, reject })
      if (this.#writing === undefined) this.#flush()
    })
  }

  /** Resolves once nothing is being written or waiting to be (before closing the database). */
  async idle (): Promise<void> {
    while (this.#writing !== undefined) await this.#writing
  }

  #flush (): void {
    const queued = this.#queued.splice(0)
    if (queued.length === 0) return
    this.#writing = (async () => {
      try {
        await this.#write(queued.flatMap((q) => q.ops))
        for (const q of queued) q.resolve()
      } catch (err) {
        // One bad batch must not fail the others written with it: try each alone.
        if (queued.length === 1) {
          queued[0]?.reject(err)
          return
        }
        for (const q of queued) await this.#write(q.ops).then(q.resolve, q.reject)
      }
    })().finally(() => {
      this.#writing = undefined
      this.#flush()
    })
  }
}
