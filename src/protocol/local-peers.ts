/**
 * Peers on the local network, found by mDNS and dialed. libp2p 3 puts what
 * a discovery finds in its peer store and stops there: two peers on one LAN
 * with no bootstrap and no reachable link addresses would know of each other
 * and never meet. Once connected they find each other's rendezvous points
 * (contact requests) and groups' topics (log sync) as any connected peers
 * do, and the peer store, on disk, keeps the address that answered.
 *
 * The finds are taken from the mDNS service itself, not from libp2p's
 * `peer:discovery`, which fires only for a peer new to the peer store: a
 * peer remembered from an earlier run, or one whose connection dropped, would
 * never be dialed again. mDNS asks every 10 s, and each answer redials a
 * peer we are not connected to.
 *
 * An answer comes from anyone on the LAN: its parts are checked, and only
 * its private and loopback addresses are dialed, so that a host on the LAN
 * cannot send this peer to dial hosts elsewhere.
 */
import { isPeerId, type Libp2p, type PeerDiscovery, type PeerId } from '@libp2p/interface'
import { mdns, type MulticastDNSComponents } from '@libp2p/mdns'
import { isLoopback, isPrivate } from '@libp2p/utils'
import { isMultiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { describeIssues } from './encoding.ts'
import type { Logger } from './logger.ts'

const DIAL_TIMEOUT_MS = 10_000
/** Dials under way at most: a host answering for many made-up peers does not fill libp2p's dial queue. Others are dialed at a later answer. */
const MAX_DIALS = 16
/** More than a host has (every interface, TCP and WebSockets): an answer naming more is not one to follow. */
const MAX_ADDRESSES = 64

const foundPeerSchema = z.object({
  id: z.custom<PeerId>(isPeerId, 'not a peer id'),
  multiaddrs: z.array(z.custom<Multiaddr>(isMultiaddr, 'not a multiaddr')).max(MAX_ADDRESSES)
})

type FoundPeer = z.infer<typeof foundPeerSchema>

/** Give libp2p `discovery()`, call `start()` once the node runs and `stop()` before it stops. */
export class LocalPeers {
  readonly #logger: Logger
  readonly #stop = new AbortController()
  readonly #dialing = new Map<string, Promise<void>>()
  /** Found before the node finished starting (mDNS asks as soon as it starts): dialed at `start()`. */
  readonly #early = new Map<string, FoundPeer>()
  #libp2p: Libp2p | undefined

  constructor (logger: Logger) {
    this.#logger = logger
  }

  /** The mDNS discovery to give libp2p (`peerDiscovery`); what it finds comes here. */
  discovery (): (components: MulticastDNSComponents) => PeerDiscovery {
    const create = mdns()
    return (components) => {
      const service = create(components)
      service.addEventListener('peer', (event) => { this.#found(event.detail) })
      return service
    }
  }

  /** Dials what was found so far, and from now on what is found. */
  start (libp2p: Libp2p): void {
    this.#libp2p = libp2p
    if (libp2p.getMultiaddrs().every((address) => isLoopback(address))) {
      this.#logger.warn('mDNS is on, but this peer listens on loopback only: peers on other machines find it and cannot reach it. Listen on a local network address (e.g. /ip4/0.0.0.0/tcp/0)')
    }
    for (const peer of this.#early.values()) this.#dial(peer)
    this.#early.clear()
  }

  async stop (): Promise<void> {
    this.#stop.abort()
    await Promise.allSettled(this.#dialing.values())
  }

  #found (detail: unknown): void {
    if (this.#stop.signal.aborted) return
    const parsed = foundPeerSchema.safeParse(detail)
    if (!parsed.success) {
      this.#logger.warn({ reason: describeIssues(parsed.error) }, 'dropped a malformed mDNS answer')
      return
    }
    const peer = { id: parsed.data.id, multiaddrs: parsed.data.multiaddrs.filter((address) => isPrivate(address)) }
    if (peer.multiaddrs.length === 0) {
      this.#logger.debug({ peer: peer.id.toString() }, 'an mDNS answer named no local network address')
      return
    }
    if (this.#libp2p !== undefined) this.#dial(peer)
    else if (this.#early.size < MAX_DIALS) this.#early.set(peer.id.toString(), peer)
  }

  #dial ({ id, multiaddrs }: FoundPeer): void {
    const libp2p = this.#libp2p
    const peer = id.toString()
    if (libp2p === undefined || id.equals(libp2p.peerId) || this.#dialing.has(peer) || libp2p.getConnections(id).length > 0) return
    if (this.#dialing.size >= MAX_DIALS) {
      this.#logger.debug({ peer }, 'too many dials to peers found on the local network: this one waits for its next answer')
      return
    }
    const signal = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)])
    // These addresses only, not the peer store's: those may hold others the answer named.
    const dial = libp2p.dial(multiaddrs.map((address) => address.encapsulate(`/p2p/${peer}`)), { signal })
      .then(() => { this.#logger.debug({ peer }, 'connected to a peer found on the local network') })
      .catch((err: unknown) => {
        if (!this.#stop.signal.aborted) this.#logger.debug({ peer, err: (err as Error).message }, 'could not reach a peer found on the local network')
      })
      .finally(() => { this.#dialing.delete(peer) })
    this.#dialing.set(peer, dial)
  }
}
