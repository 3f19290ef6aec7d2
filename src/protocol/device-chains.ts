/**
 * The chains of other devices in one group, as we hold them: read from the
 * state database once, then kept in memory. Callers write a chain through
 * `putOp` in their own batch and call `remember` once it is committed, so
 * memory never runs ahead of the disk.
 */
import type { ReceiverChain } from './ratchet.ts'
import type { StateOp, StateStore } from './state-store.ts'

export class DeviceChains {
  readonly #state: StateStore
  readonly #groupId: string
  readonly #chains = new Map<string, ReceiverChain>()

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

  putOp (device: string, chain: ReceiverChain): StateOp {
    return this.#state.putReceiverChainOp(this.#groupId, device, chain)
  }

  /** Mirrors a chain whose `putOp` was committed. */
  remember (device: string, chain: ReceiverChain): void {
    this.#chains.set(device, chain)
  }
}
