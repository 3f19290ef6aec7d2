/**
 * Keeps gossipsub able to send to every peer it is connected to.
 *
 * Gossipsub opens one outgoing stream per peer when the peer connects, and
 * never again while the peer stays connected: if that stream fails to open
 * (a busy peer) or is reset (the connection it ran on was closed while another
 * one to the same peer stayed up), it silently stops sending to that peer —
 * our new entries and, worse, our subscriptions, so the peer never learns we
 * are on a topic and never swaps heads with us for it. A bot taking 50
 * contacts at once lost a fifth of its first messages that way.
 *
 * Every few seconds, for each peer gossipsub knows with an open connection and
 * no outgoing stream, this asks gossipsub to open one, as it does on connect;
 * once open, gossipsub sends our subscriptions on it, and the peer's
 * subscription-change swaps heads with us (`log-sync.ts`).
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import type { Logger } from './logger.ts'

const CHECK_INTERVAL_MS = 3_000
/** A stream asked for is not asked for again before this: it may still be opening. */
const RETRY_AFTER_MS = 20_000

/** The part of gossipsub's internals this uses: what it runs itself when a peer connects. */
interface GossipSubInternals {
  readonly streamsOutbound: Map<string, unknown>
  onPeerConnected: (peer: PeerId, connection: Connection) => void
}

export class GossipStreamKeeper {
  readonly #libp2p: Libp2p<{ pubsub: GossipSub }>
  readonly #logger: Logger
  #timer: NodeJS.Timeout | undefined
  /** When a stream was last asked for, by peer. */
  readonly #askedAt = new Map<string, number>()

  constructor (libp2p: Libp2p<{ pubsub: GossipSub }>, logger: Logger) {
    this.#libp2p = libp2p
    this.#logger = logger
  }

  start (): void {
    if (this.#timer !== undefined) return
    this.#timer = setInterval(() => { this.#check() }, CHECK_INTERVAL_MS)
    this.#timer.unref()
  }

  stop (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#askedAt.clear()
  }

  #check (): void {
    const pubsub = this.#libp2p.services.pubsub as unknown as GossipSub & GossipSubInternals
    if (typeof pubsub.onPeerConnected !== 'function' || !(pubsub.streamsOutbound instanceof Map)) return
    const now = performance.now()
    for (const [key, at] of this.#askedAt) if (now - at >= RETRY_AFTER_MS) this.#askedAt.delete(key)
    for (const peer of pubsub.getPeers()) {
      const key = peer.toString()
      if (pubsub.streamsOutbound.has(key) || this.#askedAt.has(key)) continue
      const connection = this.#libp2p.getConnections(peer).find((c) => c.status === 'open')
      if (connection === undefined) continue
      this.#logger.debug({ peer: key }, 'gossipsub had no stream to a connected peer: opening one')
      this.#askedAt.set(key, now)
      pubsub.onPeerConnected(peer, connection)
    }
  }
}
