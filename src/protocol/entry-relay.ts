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
 * them on the topic as if they were its own, and takes them in. The first
 * hop is then as likely to be any member whoever wrote: with two members
 * online, always handing over would name the writer as the one that did not
 * publish. A relay is a member, who reads who wrote anyway; replicas and
 * stock peers are never chosen. Alone on the topic (no member online, or
 * none proved yet), a peer publishes its entries itself, and whoever gets
 * them learns that they came from it. If the one chosen fails to take them,
 * the next in the draw is tried.
 *
 * The cost: one stream to a connected peer, and its check, before the
 * entries go out, for all but one publication in (members online).
 */
import { randomInt } from 'node:crypto'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { z } from 'zod'
import { decodeCbor, encodeCbor } from './encoding.ts'
import type { GroupLog } from './group-log.ts'
import { decodeEntry, isSignedBy, type StoredEntry } from './log-entry.ts'
import type { MemberPeers } from './member-peers.ts'
import { bytes } from './schemas.ts'
import { MAX_ENTRY_BYTES, MAX_SYNC_MESSAGE, type SyncDeps } from './sync-deps.ts'

export const RELAY_PROTOCOL = '/bertybot/relay/1.0.0'
const RELAY_TIMEOUT_MS = 5_000
/** Entries one hand-over carries at most; a larger batch goes in parts, each drawn for. */
const MAX_RELAYED = 256

const relayRequestSchema = z.object({ address: z.string().max(512), entries: z.array(bytes()).min(1).max(MAX_RELAYED) })
const relayAnswerSchema = z.object({ ok: z.boolean() })

export interface EntryRelayDeps extends SyncDeps {
  members: MemberPeers
  /** Takes entries a member handed over, as if gossip had brought them. */
  receive: (log: GroupLog, entries: Uint8Array[], from: PeerId) => Promise<void>
}

/** Who publishes: this peer, or a member it hands the entries to. */
export type PublishPoint = 'self' | PeerId

export class EntryRelay {
  readonly #deps: EntryRelayDeps

  constructor (deps: EntryRelayDeps) {
    this.#deps = deps
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
   * on the topic took them.
   */
  async publish (log: GroupLog, entries: StoredEntry[], through?: PublishPoint): Promise<boolean> {
    let handed = false
    for (const part of parts(entries)) {
      const draw: PublishPoint[] = through === undefined ? shuffled<PublishPoint>(['self', ...this.relays(log.address)]) : [through]
      let taken: boolean | undefined
      for (const point of draw) {
        if (point === 'self') taken = await this.#publishHere(log.address, part.map((entry) => entry.bytes))
        else if (await this.#handOver(point, log.address, part)) taken = true
        if (taken !== undefined) break
      }
      // Every member drawn failed, and this peer came after them: it publishes after all.
      taken ??= await this.#publishHere(log.address, part.map((entry) => entry.bytes))
      handed ||= taken
    }
    return handed
  }

  /** Relay side: checks what a member handed over, publishes what is new, and takes it in. */
  async serve (stream: Stream, connection: Connection): Promise<void> {
    const { logger, running, stopping } = this.#deps
    const from = connection.remotePeer
    const signal = AbortSignal.any([stopping, AbortSignal.timeout(RELAY_TIMEOUT_MS)])
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_SYNC_MESSAGE })
      const request = decodeCbor((await lp.read({ signal })).subarray(), relayRequestSchema, (reason) => {
        logger.warn({ peer: from.toString(), reason }, 'dropped a malformed relay request')
      })
      const log = request === undefined ? undefined : this.#deps.log(request.address)
      const fresh = request === undefined || log === undefined ? undefined : await this.#fresh(log, request.entries, from)
      // Published before the answer, so that the writer's next entries go out after these.
      if (log !== undefined && fresh !== undefined && fresh.length > 0) await this.#publishHere(log.address, fresh)
      await lp.write(encodeCbor({ ok: fresh !== undefined } satisfies z.infer<typeof relayAnswerSchema>), { signal })
      await stream.close({ signal }).catch(() => {})
      if (log !== undefined && fresh !== undefined && fresh.length > 0) await this.#deps.receive(log, fresh, from)
    } catch (err) {
      stream.abort(err as Error)
      if (running()) logger.debug({ peer: from.toString(), err: (err as Error).message }, 'relaying entries failed')
    }
  }

  /** Entries handed over that belong to `log`, are signed by its group and are not in it yet; `undefined` if any is not of the log. */
  async #fresh (log: GroupLog, handed: Uint8Array[], from: PeerId): Promise<Uint8Array[] | undefined> {
    const fresh: Uint8Array[] = []
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
      // One it holds was published already: relaying it again would say nothing new, to anyone.
      if (!await log.has(entry.hash)) fresh.push(bytes)
    }
    return fresh
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

  /** Hands `entries` to `peer` to publish; false if it did not take them. */
  async #handOver (peer: PeerId, address: string, entries: StoredEntry[]): Promise<boolean> {
    const { libp2p, logger, running, stopping } = this.#deps
    const signal = AbortSignal.any([stopping, AbortSignal.timeout(RELAY_TIMEOUT_MS)])
    let stream: Stream
    try {
      stream = await libp2p.dialProtocol(peer, RELAY_PROTOCOL, { signal })
    } catch (err) {
      if (running()) logger.debug({ peer: peer.toString(), err: (err as Error).message }, 'relay: dial failed')
      return false
    }
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_SYNC_MESSAGE })
      await lp.write(encodeCbor({ address, entries: entries.map((entry) => entry.bytes) } satisfies z.infer<typeof relayRequestSchema>), { signal })
      const answer = decodeCbor((await lp.read({ signal })).subarray(), relayAnswerSchema)
      await stream.close({ signal }).catch(() => {})
      return answer?.ok === true
    } catch (err) {
      stream.abort(err as Error)
      if (running()) logger.debug({ peer: peer.toString(), err: (err as Error).message }, 'relay: handing over failed')
      return false
    }
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
