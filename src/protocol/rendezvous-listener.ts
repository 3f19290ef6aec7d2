/**
 * Keeps a responder present at its rendezvous points: subscribed to their
 * gossipsub topics and providing them on the DHT, for the current period and
 * the previous one (a requester's clock may lag), moving on at each rotation
 * and withdrawing points that fell out of the window.
 *
 * A provide made while no peer is connected places the record nowhere, so
 * the points are provided again when a peer connects (at once if the last
 * provide had no peers, else at most once a minute).
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { CID } from 'multiformats/cid'
import type { Logger } from './logger.ts'
import { rendezvousCid, rendezvousTopic, untilNextPeriod } from './rendezvous.ts'

export interface RendezvousListenerOptions {
  libp2p: Libp2p<{ pubsub: GossipSub, dht?: KadDHT }>
  logger: Logger
  now: () => number
  /** The points to be present at, at a given time. */
  points: (atMs: number) => Uint8Array[]
}

export class RendezvousListener {
  readonly #options: RendezvousListenerOptions
  readonly #stop = new AbortController()
  /** Topic → the point's DHT key, for the points currently listened at. */
  #current = new Map<string, CID>()
  #timer: NodeJS.Timeout | undefined
  #lastProvide = { at: 0, hadPeers: false }

  constructor (options: RendezvousListenerOptions) {
    this.#options = options
  }

  async start (): Promise<void> {
    this.#options.libp2p.addEventListener('peer:connect', this.#onConnect)
    await this.refresh()
  }

  /** Re-computes the points (at start, at each rotation, when the seed changes). */
  async refresh (): Promise<void> {
    if (this.#stop.signal.aborted) return
    const { libp2p, now, points } = this.#options
    const wanted = new Map<string, CID>()
    for (const point of points(now())) wanted.set(rendezvousTopic(point), await rendezvousCid(point))
    for (const [topic, cid] of this.#current) {
      if (wanted.has(topic)) continue
      libp2p.services.pubsub.unsubscribe(topic)
      await libp2p.services.dht?.cancelReprovide(cid).catch(() => {})
    }
    for (const topic of wanted.keys()) {
      if (!this.#current.has(topic)) libp2p.services.pubsub.subscribe(topic)
    }
    this.#current = wanted
    this.#provideAll()
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => { void this.refresh() }, untilNextPeriod(now()) + 1000)
    this.#timer.unref()
  }

  async stop (): Promise<void> {
    this.#stop.abort()
    this.#options.libp2p.removeEventListener('peer:connect', this.#onConnect)
    clearTimeout(this.#timer)
    for (const [topic, cid] of this.#current) {
      this.#options.libp2p.services.pubsub.unsubscribe(topic)
      await this.#options.libp2p.services.dht?.cancelReprovide(cid).catch(() => {})
    }
    this.#current.clear()
  }

  readonly #onConnect = (): void => {
    const { at, hadPeers } = this.#lastProvide
    if (!hadPeers || this.#options.now() - at > 60_000) this.#provideAll()
  }

  /** Provides every current point, in the background. */
  #provideAll (): void {
    const { libp2p, logger } = this.#options
    if (libp2p.services.dht === undefined || this.#stop.signal.aborted) return
    this.#lastProvide = { at: this.#options.now(), hadPeers: libp2p.getConnections().length > 0 }
    for (const cid of this.#current.values()) {
      libp2p.contentRouting.provide(cid, { signal: this.#stop.signal }).catch((err: unknown) => {
        if (!this.#stop.signal.aborted) logger.debug({ err: (err as Error).message }, 'could not provide a rendezvous point')
      })
    }
  }
}
