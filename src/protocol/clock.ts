/**
 * The one clock: the peer stamps messages, joins and rendezvous periods with
 * it and times deferred messages on it, a bot runs its schedules and dates
 * its tags on it, so a test can move time on without waiting (`ManualClock`
 * from `bertybot/testing`). Only timers that measure their own intervals
 * (settle rounds, gossip stream upkeep) measure elapsed time instead
 * (`performance.now()`), which neither this clock nor a change of the
 * system time moves.
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
