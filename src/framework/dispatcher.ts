/**
 * Runs tasks so that those with the same key (a conversation) run one at a
 * time, in the order they were given, while different keys run concurrently,
 * at most `concurrency` at once. A task waiting for an earlier one of its key
 * holds no slot.
 */
import PQueue from 'p-queue'

export class OrderedDispatcher {
  readonly #queue: PQueue
  readonly #tails = new Map<string, Promise<void>>()
  readonly #onError: (err: unknown) => void

  constructor (concurrency: number, onError: (err: unknown) => void) {
    this.#queue = new PQueue({ concurrency })
    this.#onError = onError
  }

  dispatch (key: string, task: () => Promise<void>): void {
    const previous = this.#tails.get(key) ?? Promise.resolve()
    const run = previous.then(async () => { await this.#queue.add(task) }).catch(this.#onError)
    this.#tails.set(key, run)
    void run.finally(() => { if (this.#tails.get(key) === run) this.#tails.delete(key) })
  }

  /** Tasks given and not finished. */
  get pending (): number {
    return this.#tails.size
  }

  /** Resolves once every task given so far for `key` has finished (at once if none is under way). */
  async settled (key: string): Promise<void> {
    await this.#tails.get(key)
  }

  /** Resolves once every task given so far has finished. */
  async drain (): Promise<void> {
    while (this.#tails.size > 0) await Promise.all(this.#tails.values())
  }
}
