/**
 * Anti-entropy after a log changes: a few rounds of heads exchanges with a
 * few peers on its topic, at growing intervals, until the log has been quiet
 * for a while.
 *
 * Gossip carries each new entry once. One that a peer missed (a stream that
 * was down, a relay that dropped it) is repaired by the next entry anyone
 * writes, which names it as a parent; but a group goes quiet right after its
 * members join (nobody shares a key before sending anything), and then a
 * missed join stays missed: a group of fifty had members that never saw one
 * other. Each round here swaps heads with a few random peers on the topic,
 * both sides fetching what they lack, so what most have spreads to all in a
 * round or two. A log that changes again starts over from the first round,
 * its delay counted from this change: a log still changing is still
 * receiving, and what it lacks shows in the parents of what comes (an
 * exchange then finds the other's heads just ahead of what is on its way, and
 * fetches it a second time: in a burst of 3 000 messages to a bot, its rounds
 * every 2 s fetched most of them again). But a log that never stops changing
 * still gets a round `maxWaitMs` after its last. An idle log costs nothing.
 */
import type { PeerId } from '@libp2p/interface'

export interface SettleRoundsOptions {
  /** When each round runs: after the log's last change, then after the round before. */
  delaysMs: number[]
  /** How many of the topic's peers each round swaps heads with. */
  peersPerRound: number
  /** A log that keeps changing waits at most this long after its last round (or first change) for the next. */
  maxWaitMs: number
  /** The peers on a log's topic now. */
  peersOf: (address: string) => PeerId[]
  /** Swaps heads with `peer` for `addresses` (it handles its own failures). */
  exchange: (peer: PeerId, addresses: string[]) => void
}

interface Pending {
  /** When the next round is due (`performance.now()`: elapsed time, which no clock change moves). */
  due: number
  /** Which of `delaysMs` that round is. */
  round: number
  /** When the wait for it began: the round before, or the first change. */
  since: number
}

const TICK_MS = 500

export class SettleRounds {
  readonly #options: SettleRoundsOptions
  readonly #pending = new Map<string, Pending>()
  #timer: NodeJS.Timeout | undefined

  constructor (options: SettleRoundsOptions) {
    this.#options = options
  }

  /** The log at `address` changed (an entry of ours, or one that came in). */
  changed (address: string): void {
    const now = performance.now()
    const first = now + (this.#options.delaysMs[0] ?? 0)
    const pending = this.#pending.get(address)
    if (pending !== undefined) {
      // Back to the first round, its delay from now; but no later than maxWaitMs after the round before.
      pending.round = 0
      pending.due = Math.min(first, pending.since + this.#options.maxWaitMs)
      return
    }
    this.#pending.set(address, { due: first, round: 0, since: now })
    this.#timer ??= setInterval(() => { this.#tick() }, TICK_MS)
    this.#timer.unref()
  }

  /** The log is closed: no more rounds for it. */
  forget (address: string): void {
    this.#pending.delete(address)
  }

  stop (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#pending.clear()
  }

  #tick (): void {
    const now = performance.now()
    const byPeer = new Map<string, { peer: PeerId, addresses: string[] }>()
    for (const [address, pending] of this.#pending) {
      if (pending.due > now) continue
      for (const peer of sample(this.#options.peersOf(address), this.#options.peersPerRound)) {
        const key = peer.toString()
        const entry = byPeer.get(key) ?? { peer, addresses: [] }
        entry.addresses.push(address)
        byPeer.set(key, entry)
      }
      const round = pending.round + 1
      const delay = this.#options.delaysMs[round]
      if (delay === undefined) {
        this.#pending.delete(address)
        continue
      }
      Object.assign(pending, { due: now + delay, round, since: now })
    }
    if (this.#pending.size === 0) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
    for (const { peer, addresses } of byPeer.values()) this.#options.exchange(peer, addresses)
  }
}

/** Up to `count` items of `items`, picked at random. */
function sample<T> (items: T[], count: number): T[] {
  const copy = [...items]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[copy[i], copy[j]] = [copy[j] as T, copy[i] as T]
  }
  return copy.slice(0, count)
}
