/**
 * The deadlines of the dialogues under way, on the bot's clock (a test's
 * `ManualClock` moves them): one loop sleeps until the earliest, and hands
 * each key that fell due to `expire`, which decides in a transaction of its
 * own whether the dialogue really timed out (an answer may have moved its
 * deadline meanwhile). The store is the truth: the map is armed from it at
 * start, then kept after each commit, so a deadline that passed while the
 * bot was down falls due at once.
 */
import type { Clock, Logger } from '../protocol/index.ts'

/** How long a deadline whose expiry failed waits before it is tried again. */
const RETRY_MS = 60_000

export interface DeadlineTimersDeps {
  clock: Clock
  logger: Logger
  /** Ends the dialogue of `key` if its deadline passed; it re-arms the key itself if not. */
  expire: (key: string) => Promise<void>
}

export class DeadlineTimers {
  readonly #deps: DeadlineTimersDeps
  readonly #deadlines = new Map<string, number>()
  readonly #stop = new AbortController()
  /** Aborted when a deadline is armed, so that the loop looks again at the earliest. */
  #changed = new AbortController()
  #loop: Promise<void> | undefined

  constructor (deps: DeadlineTimersDeps) {
    this.#deps = deps
  }

  /** Starts the loop with the deadlines kept in the store. */
  start (deadlines: Iterable<[string, number]>): void {
    for (const [key, at] of deadlines) this.#deadlines.set(key, at)
    this.#loop ??= this.#run()
  }

  /** `key` falls due at `at`, instead of when it did. */
  arm (key: string, at: number): void {
    this.#deadlines.set(key, at)
    this.#changed.abort()
  }

  disarm (key: string): void {
    this.#deadlines.delete(key)
  }

  /** Stops the loop, letting an expiry under way finish. */
  async stop (): Promise<void> {
    this.#stop.abort()
    await this.#loop
  }

  async #run (): Promise<void> {
    const { clock, logger, expire } = this.#deps
    while (!this.#stop.signal.aborted) {
      this.#changed = new AbortController()
      const signal = AbortSignal.any([this.#stop.signal, this.#changed.signal])
      const earliest = Math.min(...this.#deadlines.values())
      try {
        if (Number.isFinite(earliest)) await clock.sleepUntil(earliest, signal)
        else await new Promise((resolve) => { signal.addEventListener('abort', resolve, { once: true }) })
      } catch {
        // Woken by a change or a stop: look again.
      }
      const now = clock.now()
      const due = [...this.#deadlines].filter(([, at]) => at <= now)
      for (const [key, at] of due) {
        if (this.#stop.signal.aborted) return
        // Armed again meanwhile (an answer came): not due any more.
        if (this.#deadlines.get(key) !== at) continue
        this.#deadlines.delete(key)
        try {
          await expire(key)
        } catch (err) {
          // Stopping: the record stays, and falls due again at the next start.
          if (this.#stop.signal.aborted) return
          logger.error({ err, dialogue: key }, 'a dialogue that timed out could not be ended: trying again later')
          if (!this.#deadlines.has(key)) this.#deadlines.set(key, now + RETRY_MS)
        }
      }
    }
  }
}
