/**
 * How much each sender did in their current window, in memory, for the rate
 * limit (`rate-limit.ts`): a fixed window per sender, opened by the first
 * event it counts, and a cap on how many senders are remembered at once.
 *
 * Decisions are made per event key, so an event that runs again (its
 * handler's state changed under it) gets the same answer: it is not counted
 * twice, and the one that was told to slow down is told again in its new
 * transaction, not in a second message.
 */

/** What the limit decided for one event. */
export type WindowDecision =
  | { readonly admitted: true }
  /** Over the limit: `notify` for the first event over it in the window, which gets the reply; `reopensAt` (ms, on the bot's clock) is when the sender may write again. */
  | { readonly admitted: false, readonly notify: boolean, readonly reopensAt: number }

interface SenderWindow {
  /** When the window opened (ms). */
  readonly start: number
  /** The events admitted in it, by key (at most the limit). */
  readonly admitted: Set<string>
  /** The event that was told to slow down, once one was. */
  notified: string | undefined
}

export interface SenderWindowsOptions {
  /** Events admitted per sender and window. */
  limit: number
  windowMs: number
  /** How many senders' windows are kept at most: past it the oldest is forgotten (that sender starts afresh). */
  maxSenders: number
}

export class SenderWindows {
  readonly #options: SenderWindowsOptions
  /** Insertion order is the order windows opened: the oldest come first, to be swept. */
  readonly #windows = new Map<string, SenderWindow>()

  constructor (options: SenderWindowsOptions) {
    this.#options = options
  }

  /** How many senders are remembered now. */
  get size (): number {
    return this.#windows.size
  }

  /** Counts `event` of `sender` at `now` (ms), and says whether it is within the limit. */
  decide (sender: string, event: string, now: number): WindowDecision {
    const { limit, windowMs } = this.#options
    this.#sweep(now)
    let window = this.#windows.get(sender)
    if (window === undefined || now >= window.start + windowMs) {
      // Deleted first: a window opened again goes to the end of the sweep order.
      this.#windows.delete(sender)
      window = { start: now, admitted: new Set(), notified: undefined }
      this.#windows.set(sender, window)
      this.#cap()
    }
    if (window.admitted.has(event)) return { admitted: true }
    if (window.admitted.size < limit) {
      window.admitted.add(event)
      return { admitted: true }
    }
    window.notified ??= event
    return { admitted: false, notify: window.notified === event, reopensAt: window.start + windowMs }
  }

  /** Forgets the windows that have ended: they are at the front, in the order they opened. */
  #sweep (now: number): void {
    for (const [sender, window] of this.#windows) {
      if (now < window.start + this.#options.windowMs) return
      this.#windows.delete(sender)
    }
  }

  #cap (): void {
    for (const sender of this.#windows.keys()) {
      if (this.#windows.size <= this.#options.maxSenders) return
      this.#windows.delete(sender)
    }
  }
}
