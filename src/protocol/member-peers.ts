/**
 * The peers that proved, in a heads exchange, that they are members of a log
 * (`member-proof.ts`), for as long as they stay connected: those a new entry
 * may be relayed through (`entry-relay.ts`).
 */
import type { PeerId } from '@libp2p/interface'

export class MemberPeers {
  /** Log address → peer id (as a string) → peer. */
  readonly #byLog = new Map<string, Map<string, PeerId>>()

  add (address: string, peer: PeerId): void {
    let peers = this.#byLog.get(address)
    if (peers === undefined) {
      peers = new Map()
      this.#byLog.set(address, peers)
    }
    peers.set(peer.toString(), peer)
  }

  of (address: string): PeerId[] {
    return [...this.#byLog.get(address)?.values() ?? []]
  }

  /** A peer that disconnected proves itself again when it is back (it swaps heads again). */
  forgetPeer (peer: string): void {
    for (const [address, peers] of this.#byLog) {
      peers.delete(peer)
      if (peers.size === 0) this.#byLog.delete(address)
    }
  }

  forgetLog (address: string): void {
    this.#byLog.delete(address)
  }

  clear (): void {
    this.#byLog.clear()
  }
}
