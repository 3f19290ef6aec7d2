/**
 * Spares the peer store the write libp2p makes at every stream it opens or
 * accepts, to note that the peer speaks the stream's protocol, when the peer
 * is known to speak it already.
 *
 * Each of those writes reads the peer's record, decodes it (parsing every
 * address), encodes it again and stores it, under the peer's write lock; in a
 * group of a hundred, where every heads exchange and history fetch opens a
 * stream, the peer store was a tenth of each member's CPU, for records that
 * nearly always came out the same. Here the protocols each peer is known to
 * speak are remembered from the peer store's own answers and updates
 * (identify replaces them, and that is seen), and only a merge that would add
 * one goes through. What is skipped is the record's "last updated" time, which
 * only ages out peers never heard of again: identify sets it on every
 * connection.
 */
import type { Libp2p, Peer, PeerData, PeerId } from '@libp2p/interface'

/** Makes `libp2p`'s peer store skip protocol merges that change nothing from now on. */
export function skipKnownProtocolMerges (libp2p: Pick<Libp2p, 'peerStore' | 'addEventListener' | 'getConnections'>): void {
  const store = libp2p.peerStore
  const known = new Map<string, Peer>()
  const merge = store.merge.bind(store)
  store.merge = async (id: PeerId, data: PeerData, options?: Parameters<typeof merge>[2]): Promise<Peer> => {
    const peer = known.get(id.toString())
    if (peer !== undefined && onlyProtocols(data) && data.protocols.every((protocol) => peer.protocols.includes(protocol))) return peer
    const merged = await merge(id, data, options)
    // Connected peers only (a stream's merge), so that what is kept goes with their disconnection.
    if (libp2p.getConnections(id).length > 0) known.set(id.toString(), merged)
    return merged
  }
  libp2p.addEventListener('peer:update', (event) => {
    const id = event.detail.peer.id.toString()
    if (known.has(id)) known.set(id, event.detail.peer)
  })
  // Bounded by the peers connected: one that comes back is read from the store again.
  libp2p.addEventListener('peer:disconnect', (event) => { known.delete(event.detail.toString()) })
}

function onlyProtocols (data: PeerData): data is PeerData & { protocols: string[] } {
  return data.protocols !== undefined && Object.entries(data).every(([key, value]) => key === 'protocols' || value === undefined)
}
