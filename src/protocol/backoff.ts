/**
 * Exponential backoff, the one way bertybot waits before trying again (a
 * contact request, dialling a group's peers, sending a queued message):
 * delays that double after each failure, from `minMs` up to `maxMs`, back to
 * `minMs` after a success.
 */
import { setTimeout as sleep } from 'node:timers/promises'

export class Backoff {
  readonly #minMs: number
  readonly #maxMs: number
  #currentMs: number

  constructor (options: { minMs: number, maxMs: number }) {
    this.#minMs = options.minMs
    this.#maxMs = options.maxMs
    this.#currentMs = options.minMs
  }

  /** The delay for this failure; the next one is twice as long, up to the maximum. */
  next (): number {
    const delay = this.#currentMs
    this.#currentMs = Math.min(this.#currentMs * 2, this.#maxMs)
    return delay
  }

  /** After a success: the next failure waits the shortest delay again. */
  reset (): void {
    this.#currentMs = this.#minMs
  }

  /** Waits this failure's delay; rejects (an AbortError) if `signal` aborts first. */
  async wait (signal?: AbortSignal): Promise<void> {
    await sleep(this.next(), undefined, signal === undefined ? {} : { signal })
  }
}
