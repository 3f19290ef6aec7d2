/**
 * The chains of other devices in one group, as we hold them: read from the
 * state database once, then kept in memory. Callers write a chain through
 * `putOp` in their own batch and call `remember` once it is committed.
 *
 * A message key taken for a message that is delivered but not yet handled is
 * held: the chain in memory has moved past it, but every record of that
 * chain written until the message is handled still carries its key, so a
 * crash before then finds the key again and the message is delivered again.
 * That way a message costs one write of its chain, made with its "handled"
 * status, rather than a write of the chain and its key at delivery and a
 * deletion of the key once handled.
 */
import type { ReceiverChain } from './ratchet.ts'
import type { StateOp, StateStore } from './state-store.ts'

/**
 * Keys held per device at most. A bot whose handlers lag far behind keeps the
 * keys past this many in records of their own, as message keys, so that the
 * chain record written for each message stays small.
 */
export const MAX_HELD_KEYS = 8

/** What to write, and what to mirror in memory once it is written. */
export interface ChainChanges {
  ops: StateOp[]
  after?: () => void
}

/** A key taken for a message to deliver: what to write before delivering it, and once it is handled. */
export interface TakenKey {
  beforeDelivery: ChainChanges
  /** Called when the message is handled (again if that write failed). */
  whenHandled: () => ChainChanges
}

export class DeviceChains {
  readonly #state: StateStore
  readonly #groupId: string
  readonly #chains = new Map<string, ReceiverChain>()
  /** device → counter → key of a delivered message not yet handled. */
  readonly #held = new Map<string, Map<number, Uint8Array>>()

  constructor (state: StateStore, groupId: string) {
    this.#state = state
    this.#groupId = groupId
  }

  async get (device: string): Promise<ReceiverChain | undefined> {
    let chain = this.#chains.get(device)
    if (chain === undefined) {
      chain = await this.#state.receiverChain(this.#groupId, device)
      if (chain !== undefined) this.#chains.set(device, chain)
    }
    return chain
  }

  /** Writes `chain`, with the keys held for this device's unhandled messages (but `except`'s). */
  putOp (device: string, chain: ReceiverChain, except?: number): StateOp {
    const held = this.#held.get(device)
    if (held === undefined || held.size === 0) return this.#state.putReceiverChainOp(this.#groupId, device, chain)
    const keys = new Map(chain.keys)
    for (const [counter, key] of held) if (counter !== except) keys.set(counter, key)
    return this.#state.putReceiverChainOp(this.#groupId, device, { ...chain, keys })
  }

  /** Mirrors a chain whose `putOp` was committed. */
  remember (device: string, chain: ReceiverChain): void {
    this.#chains.set(device, chain)
  }

  /**
   * `chain` is `device`'s chain after the key of `counter` was taken for the
   * message `entryHash`, about to be delivered.
   */
  take (device: string, chain: ReceiverChain, counter: number, messageKey: Uint8Array, entryHash: string): TakenKey {
    // One map per device, made at once, so that two takes before either delivery share it.
    let held = this.#held.get(device)
    if (held === undefined) {
      held = new Map<number, Uint8Array>()
      this.#held.set(device, held)
    }
    const keys = held
    if (keys.size < MAX_HELD_KEYS) {
      return {
        beforeDelivery: {
          ops: [],
          after: () => {
            keys.set(counter, messageKey)
            this.#chains.set(device, chain)
          }
        },
        whenHandled: () => ({
          // The chain as it is now: later messages of this device may have moved it on.
          ops: [this.putOp(device, this.#chains.get(device) ?? chain, counter)],
          // Let go of the key only now: a chain written before this commit must still carry it.
          // (The map stays, empty or not: another take may hold it already.)
          after: () => { keys.delete(counter) }
        })
      }
    }
    return {
      beforeDelivery: {
        ops: [this.putOp(device, chain), this.#state.putMessageKeyOp(this.#groupId, entryHash, messageKey)],
        after: () => { this.#chains.set(device, chain) }
      },
      whenHandled: () => ({ ops: [this.#state.delMessageKeyOp(this.#groupId, entryHash)] })
    }
  }
}
