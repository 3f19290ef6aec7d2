/**
 * The bot's clock. Schedules run on it and messages are stamped with it, so a
 * test can move time on without waiting (`ManualClock` from `bertybot/testing`).
 */
import { setTimeout as sleep } from 'node:timers/promises'

export interface Clock {
  /** Milliseconds since the epoch. */
  now: () => number
  /** Resolves once the clock reads `at` or later; rejects when `signal` aborts. */
  sleepUntil: (at: number, signal: AbortSignal) => Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleepUntil: async (at, signal) => { await sleep(Math.max(0, at - Date.now()), undefined, { signal }) }
}
