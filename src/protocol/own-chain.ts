/**
 * Our chain in a group (the sender's side of `ratchet.ts`), stored ahead of its use. The state
 * holds the chain RESERVED_COUNTERS steps past the last counter sealed when
 * it was written, so messages are sealed without a write until the counters
 * it covers run out: one write of the chain for that many messages, where
 * each message cost one.
 *
 * A crash skips at most that many counters, never reuses one: the next start
 * goes on from the stored chain. Receivers accept a jump of up to
 * PRECOMPUTED_MESSAGE_KEYS and keep the keys skipped, so the cost of a crash is
 * a few keys in their record of this device. A clean close stores the chain
 * as it stands (`closeOps`), skipping none. What the state holds is always a
 * chain key past every message sent: a stolen device still cannot read them.
 */
import { nextSendingKey, newSenderChain, PRECOMPUTED_MESSAGE_KEYS, type SenderChain } from './ratchet.ts'
import type { StateOp, StateStore } from './state-store.ts'

/** Counters sealed without a write after each write of the chain; a crash skips at most this many. */
export const RESERVED_COUNTERS = 8
// A crash must skip fewer counters than receivers accept ahead.
if (RESERVED_COUNTERS >= PRECOMPUTED_MESSAGE_KEYS) throw new Error('RESERVED_COUNTERS must be below PRECOMPUTED_MESSAGE_KEYS')

/** The keys of the messages `advance` seals, the write it needs first (if any), and what to mirror once written. */
export interface ChainAdvance {
  readonly steps: ReadonlyArray<{ readonly counter: number, readonly messageKey: Uint8Array }>
  /** The chain to store before any of the messages leaves: empty while the stored one covers them. */
  readonly ops: StateOp[]
  /** Called once `ops` are written (or at once when there are none): the chain moves on. */
  readonly committed: () => void
}

export class OwnChain {
  readonly #state: StateStore
  readonly #stateId: string
  readonly #groupPublicKey: Uint8Array
  /** The chain as of the last message sealed (counter 0: none yet). */
  #current: SenderChain
  /** The counter of the chain stored: counters up to it are sealed without a write. */
  #storedUpTo: number

  /** Reads our chain from the state (making and storing one the first time). */
  static async open (state: StateStore, stateId: string, groupPublicKey: Uint8Array): Promise<OwnChain> {
    let chain = await state.ownChain(stateId)
    if (chain === undefined) {
      chain = newSenderChain()
      await state.batch([state.putOwnChainOp(stateId, chain)])
    }
    return new OwnChain(state, stateId, groupPublicKey, chain)
  }

  private constructor (state: StateStore, stateId: string, groupPublicKey: Uint8Array, chain: SenderChain) {
    this.#state = state
    this.#stateId = stateId
    this.#groupPublicKey = groupPublicKey
    this.#current = chain
    this.#storedUpTo = chain.counter
  }

  /** The chain as of the last message sealed: what is shared with members, who read from the next one. */
  get current (): SenderChain {
    return this.#current
  }

  /** The keys of the next `count` messages. One caller at a time: the next call comes after `committed`. */
  advance (count: number): ChainAdvance {
    let chain = this.#current
    const steps = Array.from({ length: count }, () => {
      const step = nextSendingKey(chain, this.#groupPublicKey)
      chain = step.chain
      return { counter: step.counter, messageKey: step.messageKey }
    })
    if (chain.counter <= this.#storedUpTo) {
      return { steps, ops: [], committed: () => { this.#current = chain } }
    }
    let stored = chain
    for (let i = 0; i < RESERVED_COUNTERS; i++) stored = nextSendingKey(stored, this.#groupPublicKey).chain
    return {
      steps,
      ops: [this.#state.putOwnChainOp(this.#stateId, stored)],
      committed: () => {
        this.#current = chain
        this.#storedUpTo = stored.counter
      }
    }
  }

  /** At a clean close, the chain as it stands, so that the next start skips no counter; none if the one stored is it. */
  closeOps (): StateOp[] {
    if (this.#storedUpTo === this.#current.counter) return []
    this.#storedUpTo = this.#current.counter
    return [this.#state.putOwnChainOp(this.#stateId, this.#current)]
  }
}
