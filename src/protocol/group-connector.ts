/**
 * Finds a group's peers without any set-up: the invitation's dialing hints,
 * the replicas the metadata log names, and the peers remembered from earlier
 * sessions (libp2p keeps their addresses in the peer store, on disk). While
 * none of them is connected it dials them all, then asks the DHT who provides
 * the group's rendezvous key, backing off from 1 s to 30 s (4 s at most in
 * its first half minute); once one is
 * connected, it checks every 30 s. It provides that key itself, so others find it.
 */
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { setTimeout as sleep } from 'node:timers/promises'
import { Backoff } from './backoff.ts'
import type { Logger } from './logger.ts'

const MIN_BACKOFF_MS = 1_000
const MAX_BACKOFF_MS = 30_000
/**
 * The longest pause between tries in the first half minute after it starts
 * (a join, a group opened): a peer that a hundred newcomers dial at once
 * times some of them out, and doubling pauses would keep those away from the
 * group, their arrival announced to nobody, for most of a minute.
 */
const EARLY_MAX_BACKOFF_MS = 4_000
const EARLY_PERIOD_MS = 30_000
const DIAL_TIMEOUT_MS = 10_000

export interface GroupConnectorOptions {
  libp2p: Libp2p
  logger: Logger
  /** Multiaddrs with a /p2p/ part. */
  hints: () => string[]
  /** Peer ids seen serving this group's logs. */
  knownPeers: () => Promise<string[]>
  /** The group's DHT key (see `groupRendezvousCid`), when the DHT runs. */
  rendezvous?: CID
}

export class GroupConnector {
  readonly #options: GroupConnectorOptions
  readonly #stop = new AbortController()
  #loop: Promise<void> | undefined

  constructor (options: GroupConnectorOptions) {
    this.#options = options
  }

  start (): void {
    const { libp2p, rendezvous, logger } = this.#options
    if (rendezvous !== undefined && this.#loop === undefined) {
      libp2p.contentRouting.provide(rendezvous, { signal: this.#stop.signal }).catch((err: unknown) => {
        if (!this.#stop.signal.aborted) logger.debug({ err: (err as Error).message }, 'could not provide the group rendezvous yet')
      })
    }
    this.#loop ??= this.#run().catch((err: unknown) => {
      if (!this.#stop.signal.aborted) this.#options.logger.warn({ err }, 'group connector stopped')
    })
  }

  async stop (): Promise<void> {
    this.#stop.abort()
    await this.#loop
  }

  async #run (): Promise<void> {
    const signal = this.#stop.signal
    const backoff = new Backoff({ minMs: MIN_BACKOFF_MS, maxMs: MAX_BACKOFF_MS })
    const startedAt = performance.now()
    while (!signal.aborted) {
      const targets = await this.#targets()
      const { libp2p } = this.#options
      const connected = targets.some(({ peer }) => libp2p.getConnections(peer).length > 0)
      if (connected || targets.length === 0) {
        backoff.reset()
        await sleep(MAX_BACKOFF_MS, undefined, { signal })
        continue
      }
      await Promise.all(targets.map(async ({ peer, addr }) => {
        try {
          // Dial by peer id, so that a stale hint does not hide addresses learned since.
          if (addr !== undefined) await libp2p.peerStore.merge(peer, { multiaddrs: [addr] })
          await libp2p.dial(peer, { signal: AbortSignal.any([signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]) })
        } catch (err) {
          if (!signal.aborted) this.#options.logger.debug({ peer: peer.toString(), err: (err as Error).message }, 'could not reach group peer')
        }
      }))
      if (targets.some(({ peer }) => libp2p.getConnections(peer).length > 0)) continue
      if (await this.#dialProviders(signal)) continue
      const pause = backoff.next()
      // With some randomness, so that peers refused together do not all come back together.
      const early = performance.now() - startedAt < EARLY_PERIOD_MS
      await sleep((early ? Math.min(pause, EARLY_MAX_BACKOFF_MS) : pause) * (0.75 + Math.random() / 2), undefined, { signal })
    }
  }

  /** Dials whoever the DHT says provides the group's key; true if one answered. */
  async #dialProviders (signal: AbortSignal): Promise<boolean> {
    const { libp2p, rendezvous } = this.#options
    if (rendezvous === undefined) return false
    const find = AbortSignal.any([signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)])
    try {
      for await (const provider of libp2p.contentRouting.findProviders(rendezvous, { signal: find })) {
        if (provider.id.equals(libp2p.peerId)) continue
        try {
          if (provider.multiaddrs.length > 0) await libp2p.peerStore.merge(provider.id, { multiaddrs: provider.multiaddrs })
          await libp2p.dial(provider.id, { signal: find })
          return true
        } catch {}
      }
    } catch {}
    return false
  }

  async #targets (): Promise<Array<{ peer: PeerId, addr?: Multiaddr }>> {
    const self = this.#options.libp2p.peerId
    const byPeer = new Map<string, { peer: PeerId, addr?: Multiaddr }>()
    for (const hint of this.#options.hints()) {
      try {
        const addr = multiaddr(hint)
        const id = addr.getComponents().find((c) => c.name === 'p2p')?.value
        if (id === undefined) continue
        const peer = peerIdFromString(id)
        if (!peer.equals(self)) byPeer.set(id, { peer, addr })
      } catch {
        // A hint we cannot parse was validated when the invitation was read; skip it.
      }
    }
    for (const id of await this.#options.knownPeers()) {
      if (byPeer.has(id)) continue
      try {
        const peer = peerIdFromString(id)
        if (!peer.equals(self)) byPeer.set(id, { peer })
      } catch {}
    }
    return [...byPeer.values()]
  }
}
