/**
 * The requester's side of a contact request: find the responder and run the
 * handshake with it. Where it may be, in order: the link's dialing hints,
 * peers we are connected to that sit on its rendezvous topics, and providers
 * of its rendezvous points on the DHT (current period and the previous one).
 * Any peer reached that is not the responder fails the handshake's first box
 * and the next candidate is tried.
 */
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { HandshakeError, requestContact, CONTACT_REQUEST_PROTOCOL, type RequestIntroduction } from './handshake.ts'
import type { IdentityKeys } from './keystore.ts'
import type { Logger } from './logger.ts'
import type { NodeServices } from './node.ts'
import { listeningPoints, rendezvousCid, rendezvousTopic } from './rendezvous.ts'

const ATTEMPT_TIMEOUT_MS = 30_000
const DIAL_TIMEOUT_MS = 10_000
const FIND_TIMEOUT_MS = 10_000

export interface RequesterDeps {
  libp2p: Libp2p<NodeServices>
  identity: IdentityKeys
  logger: Logger
  now: () => number
}

export interface RequestTarget {
  /** The responder's account key, from its link. */
  pk: Uint8Array
  seed: Uint8Array
  hints: string[]
  introduction: RequestIntroduction
}

export type RequestOutcome =
  | { outcome: 'delivered', peer: string }
  | { outcome: 'link-reset' }
  | { outcome: 'unreachable' }

/** One try: every candidate, until the responder answers; `unreachable` if none did. */
export async function sendContactRequest (deps: RequesterDeps, target: RequestTarget, stop: AbortSignal): Promise<RequestOutcome> {
  const { libp2p, identity, logger } = deps
  const signal = AbortSignal.any([stop, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)])
  const tried = new Set<string>([libp2p.peerId.toString()])
  try {
    for await (const peer of candidates(deps, target, signal)) {
      if (tried.has(peer.toString())) continue
      tried.add(peer.toString())
      let stream: Stream
      try {
        stream = await libp2p.dialProtocol(peer, CONTACT_REQUEST_PROTOCOL, { signal: AbortSignal.any([signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]) })
      } catch {
        continue
      }
      try {
        const outcome = await requestContact(stream, { account: identity.account, responder: target.pk, seed: target.seed, introduction: target.introduction, signal })
        await stream.close({ signal }).catch(() => {})
        return outcome === 'link-reset' ? { outcome } : { outcome, peer: peer.toString() }
      } catch (err) {
        stream.abort(err as Error)
        if (!(err instanceof HandshakeError && err.reason === 'not-the-responder')) {
          logger.debug({ peer: peer.toString(), err: (err as Error).message }, 'contact request handshake failed')
        }
      }
    }
  } catch (err) {
    if (!signal.aborted) logger.debug({ err: (err as Error).message }, 'looking for a contact failed')
  }
  return { outcome: 'unreachable' }
}

async function * candidates (deps: RequesterDeps, target: RequestTarget, signal: AbortSignal): AsyncGenerator<PeerId> {
  const { libp2p, now } = deps
  for (const hint of target.hints) {
    try {
      const addr = multiaddr(hint)
      const id = addr.getComponents().find((c) => c.name === 'p2p')?.value
      if (id === undefined) continue
      const peer = peerIdFromString(id)
      await libp2p.peerStore.merge(peer, { multiaddrs: [addr] })
      yield peer
    } catch {
      // A hint that does not parse: the others may still work.
    }
  }
  const points = listeningPoints(target.pk, target.seed, now())
  for (const point of points) {
    for (const peer of libp2p.services.pubsub.getSubscribers(rendezvousTopic(point))) yield peer
  }
  if (libp2p.services.dht === undefined) return
  for (const point of points) {
    const find = AbortSignal.any([signal, AbortSignal.timeout(FIND_TIMEOUT_MS)])
    try {
      for await (const provider of libp2p.contentRouting.findProviders(await rendezvousCid(point), { signal: find })) {
        if (provider.multiaddrs.length > 0) await libp2p.peerStore.merge(provider.id, { multiaddrs: provider.multiaddrs })
        yield provider.id
      }
    } catch (err) {
      if (!signal.aborted && !find.aborted) throw err
    }
  }
}
