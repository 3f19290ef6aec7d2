/**
 * Publishing new entries so that the first peer to pass them on does not
 * name their writer. Gossip messages carry no author (`node.ts`), but the
 * peer that publishes an entry is the first to send it to everyone on the
 * topic: anyone there (a replica, a stock OrbitDB peer, whoever holds the
 * log's address) would see each entry come first from its writer's peer.
 *
 * So each publication goes through a peer chosen at random among the members
 * online (those that proved it in a heads exchange, `member-proof.ts`, and
 * are connected and on the topic), this peer included, each as likely: over
 * `RELAY_PROTOCOL` the writer hands the entries to the one chosen, which
 * checks them (its log, the group's signature, not already held), publishes
 * them on the topic as if they were its own (unless each is the other's only
 * peer there: gossip would only bring the writer its entries back), and
 * takes them in. The first hop is then as likely to be any member whoever
 * wrote: with two members online, always handing over would name the writer
 * as the one that did not publish. A relay is a member, who reads who wrote
 * anyway; replicas and stock peers are never chosen. Alone on the topic (no
 * member online, or none proved yet), a peer publishes its entries itself,
 * and whoever gets them learns that they came from it. If the one chosen
 * fails to take them, the next in the draw is tried. With nobody but such
 * members on the topic, a peer publishes its entries itself: every one who
 * sees the first hop reads who wrote anyway.
 *
 * Hand-overs to a peer go one after another on one stream kept open
 * (`relay-streams.ts`), which the relay reads until it ends, answering each
 * in turn: the cost is a check by the relay before the entries go out, for
 * all but one publication in (members online).
 */
import { randomInt } from 'node:crypto'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import { decodeCbor, encodeCbor } from './encoding.ts'
import { RelayStreamError } from './errors.ts'
import type { GroupLog } from './group-log.ts'
import { decodeEntry, isSignedBy, type StoredEntry } from './log-entry.ts'
import type { MemberPeers } from './member-peers.ts'
import { RelayStreams } from './relay-streams.ts'
import { MAX_RELAYED, relayRequestSchema, type RelayAnswer } from './relay-wire.ts'
import { MAX_ENTRY_BYTES, MAX_SYNC_MESSAGE, type SyncDeps } from './sync-deps.ts'

/** Hand-overs a relay has answered and not yet joined, at most: past it, the next is read once one is. */
const MAX_JOINS_BEHIND = 32

export interface EntryRelayDeps extends SyncDeps {
  members: MemberPeers
  /**
   * Takes entries a member handed over (decoded and checked already), as if
   * gossip had brought them. It puts them in the log's line before it first
   * awaits anything: the relay answers right after calling it, and the
   * writer's next entries must find these ahead of them.
   */
  receive: (log: GroupLog, entries: StoredEntry[], from: PeerId) => Promise<void>
}

/** Who publishes: this peer, or a member it hands the entries to. */
export type PublishPoint = 'self' | PeerId

export class EntryRelay {
  readonly #deps: EntryRelayDeps
  /** The writer's side: one stream per relay peer. */
  readonly #streams: RelayStreams

  constructor (deps: EntryRelayDeps) {
    this.#deps = deps
    this.#streams = new RelayStreams(deps)
  }

  /** The members entries of `address` may be relayed through now: proven, connected, on the topic. */
  relays (address: string): PeerId[] {
    const { libp2p, members } = this.#deps
    const subscribed = new Set(libp2p.services.pubsub.getSubscribers(address).map((peer) => peer.toString()))
    return members.of(address).filter((peer) => subscribed.has(peer.toString()) && libp2p.getConnections(peer).length > 0)
  }

  /**
   * Publishes `entries` (appended together, in order) through a publish point
   * drawn at random, or through `through`; resolves with whether some peer
   * on the topic took them. `unheard`: this peer published them before and
   * nobody heard (see `relayRequestSchema`), so a relay publishes them again.
   */
  async publish (log: GroupLog, entries: StoredEntry[], through?: PublishPoint, unheard = false): Promise<boolean> {
    let handed = false
    for (const part of parts(entries)) {
      const draw: PublishPoint[] = through === undefined ? this.#draw(log.address) : [through]
      let taken: boolean | undefined
      for (const point of draw) {
        if (point === 'self') taken = await this.#publishHere(log.address, part.map((entry) => entry.bytes))
        else if (await this.#streams.handOver(point, log.address, part.map((entry) => entry.bytes), { unheard, alone: this.#onlyPeerOnTopic(log.address, point) })) taken = true
        if (taken !== undefined) break
      }
      // Every member drawn failed, and this peer came after them: it publishes after all.
      taken ??= await this.#publishHere(log.address, part.map((entry) => entry.bytes))
      handed ||= taken
    }
    return handed
  }

  /**
   * Relay side: reads hand-overs until the writer closes the stream, and
   * answers each in turn: checks the entries, publishes what is new, answers,
   * and takes it in. A request that is not one ends the stream.
   */
  async serve (stream: Stream, connection: Connection): Promise<void> {
    const { logger, running, stopping } = this.#deps
    const from = connection.remotePeer
    const lp = lpStream(stream, { maxDataLength: MAX_SYNC_MESSAGE })
    // Hand-overs answered and not yet joined (see MAX_JOINS_BEHIND).
    let behind = 0
    let oneJoined: (() => void) | undefined
    try {
      while (true) {
        const message = await nextRequest(lp, stream, stopping)
        if (message === undefined) break
        const request = decodeCbor(message, relayRequestSchema, (reason) => {
          logger.warn({ peer: from.toString(), reason }, 'dropped a malformed relay request, and its stream')
        })
        if (request === undefined) throw new RelayStreamError('malformed', 'a malformed relay request')
        const log = this.#deps.log(request.address)
        const fresh = log === undefined ? undefined : await this.#fresh(log, request.entries, from)
        // Published before the answer, so that the writer's next entries go out after these.
        const toPublish = fresh === undefined ? [] : request.unheard === true ? request.entries : fresh.map((entry) => entry.bytes)
        const alone = request.alone === true && this.#onlyPeerOnTopic(request.address, from)
        if (log !== undefined && toPublish.length > 0 && !alone) await this.#publishHere(log.address, toPublish)
        if (log !== undefined && fresh !== undefined && fresh.length > 0) {
          // In the log's line before the answer goes (not awaited: a log busy joining must not hold up
          // the next hand-overs): what the writer sends next, by gossip, comes after these, and would
          // otherwise find its parents missing and fetch them again.
          behind++
          this.#deps.receive(log, fresh, from).catch(() => {}).finally(() => {
            behind--
            oneJoined?.()
          })
        }
        await lp.write(encodeCbor({ id: request.id, ok: fresh !== undefined } satisfies RelayAnswer), { signal: stopping })
        while (behind >= MAX_JOINS_BEHIND) await new Promise<void>((resolve) => { oneJoined = resolve })
      }
      await stream.close({ signal: stopping }).catch(() => {})
    } catch (err) {
      stream.abort(err as Error)
      if (running()) logger.debug({ peer: from.toString(), err: (err as Error).message }, 'relaying entries failed')
    }
  }

  /** Closes the relay stream to a peer that disconnected. */
  forgetPeer (peer: string): void {
    this.#streams.forgetPeer(peer)
  }

  /** Closes every relay stream this peer opened. */
  stop (): void {
    this.#streams.stop()
  }

  /**
   * Entries handed over that belong to `log`, are signed by its group and are
   * not in it yet, decoded (they are joined as they are); `undefined` if any
   * is not of the log.
   */
  async #fresh (log: GroupLog, handed: Uint8Array[], from: PeerId): Promise<StoredEntry[] | undefined> {
    const fresh: StoredEntry[] = []
    for (const bytes of handed) {
      let entry: StoredEntry
      try {
        if (bytes.length > MAX_ENTRY_BYTES) throw new Error(`${bytes.length} bytes`)
        entry = await decodeEntry(bytes)
      } catch (err) {
        this.#deps.logger.warn({ address: log.address, from: from.toString(), reason: (err as Error).message }, 'refused to relay an entry that does not decode')
        return undefined
      }
      if (entry.id !== log.address || !isSignedBy(entry, log.signingKey)) {
        this.#deps.logger.warn({ address: log.address, from: from.toString(), entry: entry.hash }, 'refused to relay an entry not signed by the group')
        return undefined
      }
      fresh.push(entry)
    }
    // One it holds was published already: relaying it again would say nothing new, to anyone.
    const held = await log.holds(fresh)
    return fresh.filter((entry) => !held.has(entry.hash))
  }

  /**
   * The publish points to try, in order: this peer and every member it may
   * relay through, shuffled; or this peer alone when every peer on the topic
   * is such a member (a conversation with nobody else there). Those who see
   * the first hop then all read who wrote anyway, and a hand-over would only
   * cost a round trip and its check: with 10 contacts writing to a bot, about
   * a tenth of both ends' CPU a message.
   */
  #draw (address: string): PublishPoint[] {
    const relays = this.relays(address)
    // The relays are among the subscribers: as many means the same peers.
    if (relays.length === this.#deps.libp2p.services.pubsub.getSubscribers(address).length) return ['self']
    return shuffled<PublishPoint>(['self', ...relays])
  }

  /**
   * Whether `peer` is the only peer on the topic this one knows. When it is
   * so on both sides of a hand-over (two members of a conversation alone on
   * it), publishing would only bring the writer its own entries back: the
   * relay then publishes nothing, and nobody is there to see which peer would
   * have published first. If the writer has other peers there, the relay
   * publishes even to it alone, and the writer's gossip passes them on.
   */
  #onlyPeerOnTopic (address: string, peer: PeerId): boolean {
    const subscribers = this.#deps.libp2p.services.pubsub.getSubscribers(address)
    return subscribers.length === 1 && subscribers[0]?.equals(peer) === true
  }

  async #publishHere (address: string, entries: Uint8Array[]): Promise<boolean> {
    const { libp2p, logger } = this.#deps
    let handed = false
    for (const bytes of entries) {
      try {
        const { recipients } = await libp2p.services.pubsub.publish(address, bytes)
        if (recipients.length > 0) handed = true
      } catch (err) {
        logger.debug({ address, err }, 'could not publish entry (peers will get it with the next heads exchange)')
      }
    }
    return handed
  }
}

/** The next request on a relay stream, or `undefined` once the writer closed it. */
async function nextRequest (lp: LengthPrefixedStream<Stream>, stream: Stream, signal: AbortSignal): Promise<Uint8Array | undefined> {
  try {
    return (await lp.read({ signal })).subarray()
  } catch (err) {
    // A writer done with the stream closes its end between two requests: the read finds no more bytes.
    if ((err as Error).name === 'UnexpectedEOFError' && stream.remoteWriteStatus === 'closed') return undefined
    throw err
  }
}

/** `items` in an order drawn at random, each order as likely (Fisher–Yates, with the system's random numbers). */
function shuffled<T> (items: T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(i + 1)
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}

/** A batch in parts that each fit one hand-over: at most MAX_RELAYED entries, and within the message size. */
function parts (entries: StoredEntry[]): StoredEntry[][] {
  const out: StoredEntry[][] = []
  let part: StoredEntry[] = []
  let size = 0
  for (const entry of entries) {
    if (part.length === MAX_RELAYED || (part.length > 0 && size + entry.bytes.length > MAX_SYNC_MESSAGE / 2)) {
      out.push(part)
      part = []
      size = 0
    }
    part.push(entry)
    size += entry.bytes.length
  }
  if (part.length > 0) out.push(part)
  return out
}
