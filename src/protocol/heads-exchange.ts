/**
 * Swapping heads over `HEADS_PROTOCOL`: when a peer subscribes to one of our
 * topics (or we open a log it already serves), both sides send the hashes
 * of their heads, one length-prefixed CBOR message each way covering every
 * log they share; each then fetches what it lacks (`history-transfer.ts`).
 * OrbitDB's own heads exchange sends whole entries, back to back with no
 * framing, which a receiver in another process cannot split (STACK.md); ours
 * frames, and sends hashes. A failed exchange is tried again after a pause,
 * a few times; a peer that does not speak it swaps heads over OrbitDB's
 * protocol instead (`stock-sync.ts`). With each log's heads goes a proof
 * that the sender holds the group's secret, good for this pair of peers only
 * (`member-proof.ts`; random bytes from a peer that holds none): the members
 * a new entry may be relayed through (`entry-relay.ts`).
 *
 * What an exchange tells a peer about who wrote what: a peer's heads, which
 * are everyone's once an entry has spread; and the exchanges after a log
 * changes run on every peer whose log changed, its writer's and its
 * readers' alike. Only entries no other peer holds yet (what a peer wrote
 * while no other member was there) are named by their writer alone.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { setTimeout as delay } from 'node:timers/promises'
import { z } from 'zod'
import { decodeCbor, encodeCbor } from './encoding.ts'
import type { HistoryTransfer } from './history-transfer.ts'
import type { StockSync } from './stock-sync.ts'
import { decoyProof } from './member-proof.ts'
import { bytes } from './schemas.ts'
import { MAX_SYNC_MESSAGE, type SyncDeps } from './sync-deps.ts'

export const HEADS_PROTOCOL = '/bertybot/heads/2.0.0'
const EXCHANGE_TIMEOUT_MS = 15_000
/**
 * Pauses before a failed heads exchange is tried again: a stream reset by a
 * connection that was replaced, or a peer too busy to answer, would otherwise
 * leave two peers that are both on a topic without each other's entries,
 * since no later event makes them swap heads.
 */
const EXCHANGE_RETRY_MS = [1_000, 4_000, 15_000]

const hash = z.string().min(1).max(128)
const headsMessageSchema = z.object({
  logs: z.array(z.object({ address: z.string().max(512), heads: z.array(hash).max(1024), proof: bytes().optional() })).max(4096)
})

export interface HeadsExchangeDeps extends SyncDeps {
  /** For peers that do not speak `HEADS_PROTOCOL`. */
  stock: StockSync
  /** Fetches what a peer's heads showed we lack. */
  history: HistoryTransfer
  /** The peer was given our entries of the log at `address` up to clock time `upTo`. */
  handedOver: (address: string, upTo: number) => void
  /** `peerId` swapped heads with us for `address`: it serves that log. */
  serves: (address: string, peerId: string) => void
  /** The log swapped heads with a peer and fetched what that peer had and it lacked. */
  synced: (address: string) => void
  /** `peer` proved that it is a member of the log at `address`. */
  memberSeen: (address: string, peer: PeerId) => void
}

export class HeadsExchange {
  readonly #deps: HeadsExchangeDeps
  /** Exchanges held back for a moment (`exchangeUnlessAnswered`): peer → the logs still to swap heads for. */
  readonly #heldBack = new Map<string, Set<string>>()

  constructor (deps: HeadsExchangeDeps) {
    this.#deps = deps
  }

  /** Dials `peer` and swaps heads for `addresses`; a failure is tried again after a pause, a few times. */
  async exchange (peer: PeerId, addresses: string[], attempt = 0): Promise<void> {
    const { libp2p, running, stopping } = this.#deps
    if (!running()) return
    if (await this.#exchangeOnce(peer, addresses)) return
    const pause = EXCHANGE_RETRY_MS[attempt]
    if (pause === undefined) return
    try {
      await delay(pause * (1 + Math.random() / 2), undefined, { signal: stopping })
    } catch {
      return // stopped
    }
    // A peer that went away swaps heads when it comes back (its subscriptions arrive again).
    if (libp2p.getConnections(peer).length === 0) return
    const still = addresses.filter((address) => this.#deps.log(address) !== undefined)
    if (still.length > 0) await this.exchange(peer, still, attempt + 1)
  }

  /**
   * Swaps heads with `peer` for `addresses` after `waitMs`, for those of them
   * it did not start an exchange of meanwhile: when two peers see each other
   * subscribe, one exchange serves both, and the other peer may be starting it.
   */
  async exchangeUnlessAnswered (peer: PeerId, addresses: string[], waitMs: number): Promise<void> {
    const key = peer.toString()
    const pending = this.#heldBack.get(key) ?? new Set<string>()
    const added = addresses.filter((address) => !pending.has(address))
    if (added.length === 0) return
    for (const address of added) pending.add(address)
    this.#heldBack.set(key, pending)
    try {
      await delay(waitMs, undefined, { signal: this.#deps.stopping })
    } catch {
      return // stopped
    }
    const still = added.filter((address) => pending.delete(address))
    if (pending.size === 0 && this.#heldBack.get(key) === pending) this.#heldBack.delete(key)
    this.#deps.logger.debug({ peer: key, logs: added.length, answered: added.length - still.length }, 'held-back heads exchange: the other side started it for the logs answered')
    if (still.length > 0) await this.exchange(peer, still)
  }

  /** Answers a peer's heads exchange: reads its heads, replies with ours for the same logs. */
  async answer (stream: Stream, connection: Connection): Promise<void> {
    const { logger, running, stopping } = this.#deps
    const signal = AbortSignal.any([stopping, AbortSignal.timeout(EXCHANGE_TIMEOUT_MS)])
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_SYNC_MESSAGE })
      const request = (await lp.read({ signal })).subarray()
      const addresses = this.#parse(request, connection.remotePeer)?.logs.map((l) => l.address).filter((a) => this.#deps.log(a) !== undefined) ?? []
      const heldBack = this.#heldBack.get(connection.remotePeer.toString())
      for (const address of addresses) heldBack?.delete(address)
      const upTo = addresses.map((address) => [address, this.#deps.log(address)?.time ?? 0] as const)
      await lp.write(this.#message(addresses, connection.remotePeer), { signal })
      await stream.close({ signal }).catch(() => {})
      for (const [address, time] of upTo) this.#deps.handedOver(address, time)
      await this.#received(request, connection.remotePeer)
    } catch (err) {
      stream.abort(err as Error)
      if (running()) logger.debug({ peer: connection.remotePeer.toString(), err: (err as Error).message }, 'answering heads exchange failed')
    }
  }

  /** One heads exchange with `peer`: false when it failed and is worth trying again. */
  async #exchangeOnce (peer: PeerId, addresses: string[]): Promise<boolean> {
    const { libp2p, logger, running, stopping } = this.#deps
    const signal = AbortSignal.any([stopping, AbortSignal.timeout(EXCHANGE_TIMEOUT_MS)])
    let stream: Stream
    try {
      stream = await libp2p.dialProtocol(peer, HEADS_PROTOCOL, { signal })
    } catch (err) {
      if ((err as Error).name === 'UnsupportedProtocolError') {
        await this.#deps.stock.swapHeads(peer, addresses, signal)
        return true
      }
      if (running()) logger.debug({ peer: peer.toString(), err: (err as Error).message }, 'heads exchange: dial failed')
      return false
    }
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_SYNC_MESSAGE })
      const upTo = new Map(addresses.map((address) => [address, this.#deps.log(address)?.time ?? 0]))
      await lp.write(this.#message(addresses, peer), { signal })
      const reply = await lp.read({ signal })
      await stream.close({ signal }).catch(() => {})
      logger.debug({ peer: peer.toString(), logs: addresses.length }, 'swapped heads')
      // It answered, so it read ours (for the logs it holds: those its answer names).
      for (const address of this.#parse(reply.subarray(), peer)?.logs.map((l) => l.address) ?? []) {
        const time = upTo.get(address)
        if (time !== undefined) this.#deps.handedOver(address, time)
      }
      await this.#received(reply.subarray(), peer)
      return true
    } catch (err) {
      stream.abort(err as Error)
      if (running()) logger.debug({ peer: peer.toString(), err: (err as Error).message }, 'heads exchange failed')
      return false
    }
  }

  #message (addresses: string[], to: PeerId): Uint8Array {
    const self = this.#deps.libp2p.peerId.toString()
    return encodeCbor({
      logs: addresses.map((address) => {
        const log = this.#deps.log(address)
        return { address, heads: log?.heads().slice(0, 1024) ?? [], proof: log?.memberProof?.make(self, to.toString()) ?? decoyProof() }
      })
    } satisfies z.infer<typeof headsMessageSchema>)
  }

  #parse (bytes: Uint8Array, from: PeerId): z.infer<typeof headsMessageSchema> | undefined {
    return decodeCbor(bytes, headsMessageSchema, (reason) => {
      this.#deps.logger.warn({ peer: from.toString(), reason }, 'dropped a malformed heads message')
    })
  }

  /** A peer's heads: what of them we lack, we fetch from it. */
  async #received (bytes: Uint8Array, from: PeerId): Promise<void> {
    const message = this.#parse(bytes, from)
    if (message === undefined) return
    const self = this.#deps.libp2p.peerId.toString()
    for (const { address, heads, proof } of message.logs) {
      const log = this.#deps.log(address)
      if (log === undefined) continue
      this.#deps.serves(address, from.toString())
      if (proof !== undefined && log.memberProof?.check(proof, from.toString(), self) === true) this.#deps.memberSeen(address, from)
      if (await log.want(heads) > 0) await this.#deps.history.fetchMissing(log, [from], heads)
      this.#deps.synced(address)
    }
  }
}
