/**
 * Keeps the group logs this peer has open in sync with other peers.
 *
 * - New entries are published on a gossipsub topic named by the log's
 *   address, one entry per message, as OrbitDB's own sync does, so a stock
 *   OrbitDB peer receives them too.
 * - When a peer subscribes to one of our topics (or we open a log it already
 *   serves), both sides swap the hashes of their heads over `HEADS_PROTOCOL`,
 *   one length-prefixed CBOR message each way covering every log they share;
 *   each then fetches what it lacks (below). OrbitDB's own heads exchange
 *   sends whole entries, back to back with no framing, which a receiver in
 *   another process cannot split (STACK.md); ours frames, and sends hashes.
 * - History comes in bulk over `ENTRIES_PROTOCOL`: a peer that holds entries
 *   whose ancestors it lacks (a member back after a while, a gossip message
 *   missed) asks the peer that sent them for everything it lacks, naming its
 *   own heads; the other side walks back from what is wanted to where the
 *   asker's history begins and streams the difference oldest first, in
 *   frames, so the asker joins (and hands over) the first entries while the
 *   rest is still on the way. OrbitDB fetches history one block per bitswap
 *   want, each after a DHT provider lookup.
 * - Nothing is left to one gossip message: a failed heads exchange is tried
 *   again; gossipsub's outgoing streams are kept open (`gossip-streams.ts`);
 *   and a log that changed (an entry of ours, or one that came in) swaps
 *   heads with a few random peers on its topic a few times as it goes quiet
 *   (`settle-rounds.ts`), which also brings our new entries to peers gossip
 *   did not reach.
 * - A peer that does not speak our protocols (a stock OrbitDB replica) swaps
 *   heads with us over OrbitDB's own protocol, which we dial: we write one
 *   entry per stream (it reads each chunk as one entry), and split what it
 *   writes as a CBOR sequence; we fetch the history it has over bitswap, as
 *   it fetches ours.
 *
 * Entries from the network are decoded and checked here and in the log's
 * `join` (shape, log, signature); a bad one is logged and dropped, never thrown.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { setTimeout as delay } from 'node:timers/promises'
import { EventEmitter } from 'eventemitter3'
import FlatQueue from 'flatqueue'
import type { CID } from 'multiformats/cid'
import { z } from 'zod'
import { concatBytes } from './crypto.ts'
import { decodeCbor, encodeCbor, splitCborSequence } from './encoding.ts'
import { cidOf, type GroupLog } from './group-log.ts'
import { GossipStreamKeeper } from './gossip-streams.ts'
import { decodeEntry, type StoredEntry } from './log-entry.ts'
import type { Logger } from './logger.ts'
import { bytes } from './schemas.ts'
import { SettleRounds } from './settle-rounds.ts'

export const HEADS_PROTOCOL = '/bertybot/heads/2.0.0'
export const ENTRIES_PROTOCOL = '/bertybot/entries/1.0.0'
/** OrbitDB's own heads protocol: this prefix followed by the log address. */
const STOCK_HEADS_PROTOCOL_PREFIX = '/orbitdb/heads'
const MAX_HEADS_MESSAGE = 4 * 1024 * 1024
const MAX_ENTRY_BYTES = 256 * 1024
const EXCHANGE_TIMEOUT_MS = 15_000
/** A history transfer may take long; it fails only when nothing arrives for this long. */
const FETCH_IDLE_TIMEOUT_MS = 15_000
/** Entries per frame of a history transfer, and bytes at most. */
const FRAME_ENTRIES = 256
const FRAME_BYTES = 1024 * 1024
/** Entries one history transfer sends at most; the asker asks again for the rest. */
const MAX_TRANSFER = 200_000
/** Blocks fetched over bitswap, one by one, from a stock OrbitDB peer in one go. */
const MAX_BITSWAP_FETCH = 10_000
const BITSWAP_TIMEOUT_MS = 10_000
/**
 * Pauses before a failed heads exchange is tried again: a stream reset by a
 * connection that was replaced, or a peer too busy to answer, would otherwise
 * leave two peers that are both on a topic without each other's entries,
 * since no later event makes them swap heads.
 */
const EXCHANGE_RETRY_MS = [1_000, 4_000, 15_000]
/** Anti-entropy after a log changes (`settle-rounds.ts`): when, and with how many of its peers. */
const SETTLE_ROUNDS_MS = [2_000, 8_000, 30_000]
const SETTLE_PEERS_PER_ROUND = 3

const hash = z.string().min(1).max(128)
const headsMessageSchema = z.object({
  logs: z.array(z.object({ address: z.string().max(512), heads: z.array(hash).max(1024) })).max(4096)
})
const entriesRequestSchema = z.object({ address: z.string().max(512), want: z.array(hash).max(1024), have: z.array(hash).max(1024) })
const entriesFrameSchema = z.object({ entries: z.array(bytes()).max(FRAME_ENTRIES) }).or(z.object({ end: z.literal(true) }))
const entriesAckSchema = z.object({ ack: z.literal(true) })
/**
 * Frames sent ahead of the asker's acknowledgements. A stream buffers whatever
 * arrives until it is read, up to a limit past which it fails: without this a
 * fast sender overruns an asker busy joining what came before.
 */
const FRAMES_IN_FLIGHT = 2

export interface LogSyncEvents {
  /** A peer swapped heads with us for `address`: it serves that log. */
  peer: (address: string, peerId: string) => void
  /**
   * A peer on the log has been given our entries up to clock time `upTo`:
   * our heads reached it (a heads exchange), or an entry of ours reached a
   * subscriber (gossip), which fetches its ancestors. An entry of ours with a
   * clock time above `upTo` was appended after, so this covers exactly ours
   * at or below it.
   */
  handedOver: (address: string, upTo: number) => void
}

export interface LogSyncOptions {
  /** Fetches a block from the network (bitswap), for peers that do not speak `ENTRIES_PROTOCOL`. */
  fetchBlock: (cid: CID, signal: AbortSignal) => Promise<Uint8Array>
}

type Services = { pubsub: GossipSub }

export class LogSync extends EventEmitter<LogSyncEvents> {
  readonly #libp2p: Libp2p<Services>
  readonly #logger: Logger
  readonly #options: LogSyncOptions
  readonly #logs = new Map<string, GroupLog>()
  /** Logs whose missing history is being fetched: the peers that have offered it since, and the fetch. */
  readonly #fetching = new Map<string, { peers: Map<string, PeerId>, done: Promise<void> }>()
  /** Logs not yet synced with any peer since they were registered, with what waits for it. */
  readonly #unsynced = new Map<string, { synced: Promise<void>, resolve: () => void }>()
  readonly #stopping = new AbortController()
  readonly #gossipStreams: GossipStreamKeeper
  readonly #settleRounds: SettleRounds
  /** What each registered log's 'update' runs, to take it off again. */
  readonly #onUpdate = new Map<string, () => void>()
  #started = false

  constructor (libp2p: Libp2p<Services>, logger: Logger, options: LogSyncOptions) {
    super()
    this.#libp2p = libp2p
    this.#logger = logger
    this.#options = options
    this.#gossipStreams = new GossipStreamKeeper(libp2p, logger)
    this.#settleRounds = new SettleRounds({
      delaysMs: SETTLE_ROUNDS_MS,
      peersPerRound: SETTLE_PEERS_PER_ROUND,
      peersOf: (address) => this.#pubsub.getSubscribers(address),
      exchange: (peer, addresses) => { void this.#exchange(peer, addresses) }
    })
  }

  get #pubsub (): GossipSub {
    return this.#libp2p.services.pubsub
  }

  async start (): Promise<void> {
    if (this.#started) return
    this.#started = true
    await this.#libp2p.handle(HEADS_PROTOCOL, (stream, connection) => { void this.#answer(stream, connection) }, { maxInboundStreams: 64 })
    await this.#libp2p.handle(ENTRIES_PROTOCOL, (stream, connection) => { void this.#serveEntries(stream, connection) }, { maxInboundStreams: 32 })
    this.#pubsub.addEventListener('gossipsub:message', this.#onMessage)
    this.#pubsub.addEventListener('subscription-change', this.#onSubscriptionChange)
    this.#gossipStreams.start()
  }

  async stop (): Promise<void> {
    if (!this.#started) return
    this.#started = false
    this.#stopping.abort()
    this.#gossipStreams.stop()
    this.#settleRounds.stop()
    this.#pubsub.removeEventListener('gossipsub:message', this.#onMessage)
    this.#pubsub.removeEventListener('subscription-change', this.#onSubscriptionChange)
    await this.#libp2p.unhandle(HEADS_PROTOCOL)
    await this.#libp2p.unhandle(ENTRIES_PROTOCOL)
    for (const address of this.#logs.keys()) this.#pubsub.unsubscribe(address)
    for (const [address, onUpdate] of this.#onUpdate) this.#logs.get(address)?.off('update', onUpdate)
    this.#onUpdate.clear()
    this.#logs.clear()
  }

  /** Starts syncing a log: subscribes to its topic and swaps heads with the peers already on it. */
  register (log: GroupLog): void {
    this.#logs.set(log.address, log)
    const onUpdate = (): void => { this.#settleRounds.changed(log.address) }
    this.#onUpdate.set(log.address, onUpdate)
    log.on('update', onUpdate)
    let resolve = (): void => {}
    const synced = new Promise<void>((r) => { resolve = r })
    this.#unsynced.set(log.address, { synced, resolve })
    this.#pubsub.subscribe(log.address)
    for (const peer of this.#pubsub.getSubscribers(log.address)) void this.#exchange(peer, [log.address])
  }

  /**
   * Resolves once the log has swapped heads with a peer and fetched what that
   * peer had and it lacked, or after `timeoutMs` (false then: nobody answered).
   */
  async whenSynced (address: string, timeoutMs: number): Promise<boolean> {
    const unsynced = this.#unsynced.get(address)
    if (unsynced === undefined) return true
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<boolean>((resolve) => { timer = setTimeout(() => { resolve(false) }, timeoutMs) })
    try {
      return await Promise.race([unsynced.synced.then(() => true), expired])
    } finally {
      clearTimeout(timer)
    }
  }

  unregister (address: string): void {
    this.#unsynced.get(address)?.resolve()
    this.#unsynced.delete(address)
    const onUpdate = this.#onUpdate.get(address)
    if (onUpdate !== undefined) this.#logs.get(address)?.off('update', onUpdate)
    this.#onUpdate.delete(address)
    this.#settleRounds.forget(address)
    if (!this.#logs.delete(address)) return
    if (this.#started) this.#pubsub.unsubscribe(address)
  }

  /**
   * Announces new entries of ours to the log's topic. One that gossipsub could
   * not hand to some subscriber (no stream to it yet, nobody known on the
   * topic yet) reaches it with the settle rounds that the append started.
   */
  async publish (address: string, entries: StoredEntry[]): Promise<void> {
    if (!this.#started) return
    for (const entry of entries) {
      try {
        const { recipients } = await this.#pubsub.publish(address, entry.bytes)
        if (recipients.length > 0) this.emit('handedOver', address, entry.clock.time)
      } catch (err) {
        this.#logger.debug({ address, err }, 'could not publish entry (peers will get it with the next heads exchange)')
      }
    }
  }

  readonly #onSubscriptionChange = (event: CustomEvent<{ peerId: PeerId, subscriptions: Array<{ topic: string, subscribe: boolean }> }>): void => {
    const { peerId, subscriptions } = event.detail
    const addresses = subscriptions.filter((s) => s.subscribe && this.#logs.has(s.topic)).map((s) => s.topic)
    if (addresses.length > 0) void this.#exchange(peerId, addresses)
  }

  readonly #onMessage = (event: CustomEvent<{ propagationSource: PeerId, msg: { topic: string, data: Uint8Array } }>): void => {
    const { propagationSource, msg } = event.detail
    const log = this.#logs.get(msg.topic)
    if (log === undefined) return
    // Messages name no author: what an entry lacks, ask the peer that passed it on (then the topic's other peers).
    void this.#receive(log, [msg.data], propagationSource)
  }

  #headsMessage (addresses: string[]): Uint8Array {
    return encodeCbor({ logs: addresses.map((address) => ({ address, heads: this.#logs.get(address)?.heads().slice(0, 1024) ?? [] })) })
  }

  /** Dials `peer` and swaps heads for `addresses`; a failure is tried again after a pause, a few times. */
  async #exchange (peer: PeerId, addresses: string[], attempt = 0): Promise<void> {
    if (!this.#started) return
    if (await this.#exchangeOnce(peer, addresses)) return
    const pause = EXCHANGE_RETRY_MS[attempt]
    if (pause === undefined) return
    try {
      await delay(pause * (1 + Math.random() / 2), undefined, { signal: this.#stopping.signal })
    } catch {
      return // stopped
    }
    // A peer that went away swaps heads when it comes back (its subscriptions arrive again).
    if (this.#libp2p.getConnections(peer).length === 0) return
    const still = addresses.filter((address) => this.#logs.has(address))
    if (still.length > 0) await this.#exchange(peer, still, attempt + 1)
  }

  /** One heads exchange with `peer`: false when it failed and is worth trying again. */
  async #exchangeOnce (peer: PeerId, addresses: string[]): Promise<boolean> {
    const signal = AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(EXCHANGE_TIMEOUT_MS)])
    let stream: Stream
    try {
      stream = await this.#libp2p.dialProtocol(peer, HEADS_PROTOCOL, { signal })
    } catch (err) {
      if ((err as Error).name === 'UnsupportedProtocolError') {
        // A stock OrbitDB peer: swap heads over its own protocol. It reads what a stream
        // brings as one entry per chunk, so each of our heads goes on a stream of its own.
        for (const address of addresses) {
          const log = this.#logs.get(address)
          if (log === undefined) continue
          const heads = (await Promise.all(log.heads().map(async (head) => await log.get(head)))).filter((e): e is StoredEntry => e !== undefined)
          await this.#stockHeadsExchange(peer, log, heads[0]?.bytes, signal)
          for (const head of heads.slice(1)) await this.#stockHeadsExchange(peer, log, head.bytes, signal)
        }
        return true
      }
      if (this.#started) this.#logger.debug({ peer: peer.toString(), err: (err as Error).message }, 'heads exchange: dial failed')
      return false
    }
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_HEADS_MESSAGE })
      const upTo = new Map(addresses.map((address) => [address, this.#logs.get(address)?.time ?? 0]))
      await lp.write(this.#headsMessage(addresses), { signal })
      const reply = await lp.read({ signal })
      await stream.close({ signal }).catch(() => {})
      this.#logger.debug({ peer: peer.toString(), logs: addresses.length }, 'swapped heads')
      // It answered, so it read ours (for the logs it holds: those its answer names).
      for (const address of this.#parseHeadsMessage(reply.subarray(), peer)?.logs.map((l) => l.address) ?? []) {
        const time = upTo.get(address)
        if (time !== undefined) this.emit('handedOver', address, time)
      }
      await this.#receiveHeadsMessage(reply.subarray(), peer)
      return true
    } catch (err) {
      stream.abort(err as Error)
      if (this.#started) this.#logger.debug({ peer: peer.toString(), err: (err as Error).message }, 'heads exchange failed')
      return false
    }
  }

  /**
   * Swaps heads with a stock OrbitDB peer over its protocol: gives it `head`
   * (at most one: it splits what arrives by chunk), and reads its heads, which
   * it writes back to back, unframed, then closes (we split them as a CBOR sequence).
   */
  async #stockHeadsExchange (peer: PeerId, log: GroupLog, head: Uint8Array | undefined, signal: AbortSignal): Promise<void> {
    const address = log.address
    let stream: Stream
    try {
      stream = await this.#libp2p.dialProtocol(peer, STOCK_HEADS_PROTOCOL_PREFIX + address, { signal })
    } catch (err) {
      if (this.#started) this.#logger.debug({ peer: peer.toString(), address, err: (err as Error).message }, 'no heads from a stock OrbitDB peer')
      return
    }
    const abort = (): void => { stream.abort(new Error('heads exchange timed out')) }
    signal.addEventListener('abort', abort, { once: true })
    try {
      // Listen before closing our side: the stream keeps data that arrives early, not the close
      // that may come with it, and a reader attached after both would wait for ever.
      const chunks: Uint8Array[] = []
      let size = 0
      const reading = (async () => {
        for await (const chunk of stream) {
          const bytes = chunk.subarray()
          size += bytes.length
          if (size > MAX_HEADS_MESSAGE) throw new Error('stock heads exceed the size limit')
          chunks.push(bytes)
        }
      })()
      if (head !== undefined) stream.send(head)
      await stream.close({ signal })
      await reading
      const { items, rest } = splitCborSequence(concatBytes(...chunks))
      if (rest.length > 0) this.#logger.warn({ peer: peer.toString(), address, bytes: rest.length }, 'dropped undecodable bytes from a stock heads exchange')
      await this.#receive(log, items, peer)
    } catch (err) {
      stream.abort(err as Error)
      if (this.#started) this.#logger.debug({ peer: peer.toString(), address, err: (err as Error).message }, 'stock heads exchange failed')
    } finally {
      signal.removeEventListener('abort', abort)
    }
  }

  /** Answers a peer's heads exchange: reads its heads, replies with ours for the same logs. */
  async #answer (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(EXCHANGE_TIMEOUT_MS)])
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_HEADS_MESSAGE })
      const request = (await lp.read({ signal })).subarray()
      const addresses = this.#parseHeadsMessage(request, connection.remotePeer)?.logs.map((l) => l.address).filter((a) => this.#logs.has(a)) ?? []
      const upTo = addresses.map((address) => [address, this.#logs.get(address)?.time ?? 0] as const)
      await lp.write(this.#headsMessage(addresses), { signal })
      await stream.close({ signal }).catch(() => {})
      for (const [address, time] of upTo) this.emit('handedOver', address, time)
      await this.#receiveHeadsMessage(request, connection.remotePeer)
    } catch (err) {
      stream.abort(err as Error)
      if (this.#started) this.#logger.debug({ peer: connection.remotePeer.toString(), err: (err as Error).message }, 'answering heads exchange failed')
    }
  }

  #parseHeadsMessage (bytes: Uint8Array, from: PeerId): z.infer<typeof headsMessageSchema> | undefined {
    return decodeCbor(bytes, headsMessageSchema, (reason) => {
      this.#logger.warn({ peer: from.toString(), reason }, 'dropped a malformed heads message')
    })
  }

  /** A peer's heads: what of them we lack, we fetch from it. */
  async #receiveHeadsMessage (bytes: Uint8Array, from: PeerId): Promise<void> {
    const message = this.#parseHeadsMessage(bytes, from)
    if (message === undefined) return
    for (const { address, heads } of message.logs) {
      const log = this.#logs.get(address)
      if (log === undefined) continue
      this.emit('peer', address, from.toString())
      if (await log.want(heads) > 0) await this.#fetchMissing(log, [from])
      this.#unsynced.get(address)?.resolve()
      this.#unsynced.delete(address)
    }
  }

  /** Decodes entries, joins them, and asks `from` for what they are missing. */
  async #receive (log: GroupLog, entries: Uint8Array[], from: PeerId): Promise<void> {
    await this.#join(log, entries, from.toString())
    if (log.missing().length > 0) void this.#fetchMissing(log, [from])
  }

  async #join (log: GroupLog, entries: Uint8Array[], from: string): Promise<void> {
    const decoded: StoredEntry[] = []
    for (const bytes of entries) {
      if (bytes.length > MAX_ENTRY_BYTES) {
        this.#logger.warn({ address: log.address, from, size: bytes.length }, 'dropped an oversized log entry')
        continue
      }
      try {
        decoded.push(await decodeEntry(bytes))
      } catch (err) {
        this.#logger.warn({ address: log.address, from, reason: (err as Error).message }, 'dropped a log entry that does not decode')
      }
    }
    if (decoded.length === 0) return
    try {
      const { rejected } = await log.join(decoded)
      for (const { hash, reason } of rejected) this.#logger.warn({ address: log.address, from, entry: hash, reason }, 'rejected a log entry')
    } catch (err) {
      if (this.#started) this.#logger.warn({ address: log.address, from, err }, 'could not join log entries')
    }
  }

  // History in bulk

  /**
   * Fetches what `log` lacks, from `peers` first, then from whoever else
   * offered it meanwhile, then from the other peers on its topic; one fetch
   * per log at a time.
   */
  async #fetchMissing (log: GroupLog, peers: PeerId[]): Promise<void> {
    const running = this.#fetching.get(log.address)
    if (running !== undefined) {
      for (const peer of peers) running.peers.set(peer.toString(), peer)
      await running.done
      return
    }
    const candidates = new Map(peers.map((peer) => [peer.toString(), peer]))
    const done = (async () => {
      const tried = new Set<string>()
      let askedTopic = false
      while (this.#started && this.#logs.get(log.address) === log) {
        const before = log.missing()
        if (before.length === 0) break
        let next = [...candidates.values()].find((p) => !tried.has(p.toString()))
        if (next === undefined && !askedTopic) {
          askedTopic = true
          for (const peer of this.#pubsub.getSubscribers(log.address)) candidates.set(peer.toString(), peer)
          next = [...candidates.values()].find((p) => !tried.has(p.toString()))
        }
        if (next === undefined) break
        tried.add(next.toString())
        await this.#fetchFrom(next, log)
        // Progress: the same peer may have more (a transfer is capped); no progress: the next one.
        if (log.missing().some((hash) => !before.includes(hash))) tried.delete(next.toString())
      }
      // Heads peers named and nobody gave may not exist: they come again with the next exchange.
      log.unwant()
    })().catch((err: unknown) => {
      if (this.#started) this.#logger.debug({ address: log.address, err }, 'fetching history failed')
    }).finally(() => { this.#fetching.delete(log.address) })
    this.#fetching.set(log.address, { peers: candidates, done })
    await done
  }

  /** Asks `peer` for the entries `log` lacks and joins them as they come. */
  async #fetchFrom (peer: PeerId, log: GroupLog): Promise<void> {
    const want = log.missing().slice(0, 1024)
    if (want.length === 0) return
    let idle = new AbortController()
    let idleTimer = setTimeout(() => { idle.abort() }, FETCH_IDLE_TIMEOUT_MS)
    const signal = (): AbortSignal => AbortSignal.any([this.#stopping.signal, idle.signal])
    const alive = (): void => {
      clearTimeout(idleTimer)
      idle = new AbortController()
      idleTimer = setTimeout(() => { idle.abort() }, FETCH_IDLE_TIMEOUT_MS)
    }
    let stream: Stream
    try {
      stream = await this.#libp2p.dialProtocol(peer, ENTRIES_PROTOCOL, { signal: signal() })
    } catch (err) {
      clearTimeout(idleTimer)
      if ((err as Error).name === 'UnsupportedProtocolError') await this.#fetchBlocks(peer, log)
      else if (this.#started) this.#logger.debug({ peer: peer.toString(), err: (err as Error).message }, 'history fetch: dial failed')
      return
    }
    let received = 0
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_HEADS_MESSAGE })
      await lp.write(encodeCbor({ address: log.address, want, have: log.heads().slice(0, 1024) } satisfies z.infer<typeof entriesRequestSchema>), { signal: signal() })
      for (;;) {
        const frame = decodeCbor((await lp.read({ signal: signal() })).subarray(), entriesFrameSchema)
        alive()
        if (frame === undefined) throw new Error('malformed history frame')
        if ('end' in frame) break
        received += frame.entries.length
        await this.#join(log, frame.entries, peer.toString())
        await lp.write(encodeCbor({ ack: true } satisfies z.infer<typeof entriesAckSchema>), { signal: signal() })
      }
      await stream.close({ signal: signal() }).catch(() => {})
      this.#logger.debug({ peer: peer.toString(), address: log.address, entries: received }, 'fetched history')
    } catch (err) {
      stream.abort(err as Error)
      if (this.#started) this.#logger.debug({ peer: peer.toString(), address: log.address, received, err: (err as Error).message }, 'history fetch failed')
    } finally {
      clearTimeout(idleTimer)
    }
  }

  /** A stock OrbitDB peer's history, one block at a time over bitswap, as OrbitDB itself fetches it. */
  async #fetchBlocks (peer: PeerId, log: GroupLog): Promise<void> {
    let fetched = 0
    for (let want = log.missing(); want.length > 0 && fetched < MAX_BITSWAP_FETCH && this.#started; want = log.missing()) {
      const blocks = await Promise.all(want.slice(0, 32).map(async (hash) => {
        try {
          return await this.#options.fetchBlock(cidOf(hash), AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(BITSWAP_TIMEOUT_MS)]))
        } catch {
          return undefined
        }
      }))
      const found = blocks.filter((b): b is Uint8Array => b !== undefined)
      if (found.length === 0) break
      fetched += found.length
      await this.#join(log, found, peer.toString())
    }
  }

  /** Answers a history request: what the asker lacks of what it wants, oldest first, in frames it acknowledges. */
  async #serveEntries (stream: Stream, connection: Connection): Promise<void> {
    // Each step waits at most this long: the transfer as a whole may take long.
    const step = (): AbortSignal => AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(FETCH_IDLE_TIMEOUT_MS)])
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_HEADS_MESSAGE })
      const request = decodeCbor((await lp.read({ signal: step() })).subarray(), entriesRequestSchema, (reason) => {
        this.#logger.warn({ peer: connection.remotePeer.toString(), reason }, 'dropped a malformed history request')
      })
      const log = request === undefined ? undefined : this.#logs.get(request.address)
      if (request !== undefined && log !== undefined) {
        let unacknowledged = 0
        const send = async (entries: Uint8Array[]): Promise<void> => {
          if (unacknowledged === FRAMES_IN_FLIGHT) {
            if (decodeCbor((await lp.read({ signal: step() })).subarray(), entriesAckSchema) === undefined) throw new Error('not an acknowledgement')
            unacknowledged--
          }
          await lp.write(encodeCbor({ entries }), { signal: step() })
          unacknowledged++
        }
        let frame: Uint8Array[] = []
        let size = 0
        for (const hash of await difference(log, request.want, request.have)) {
          const entry = await log.get(hash)
          if (entry === undefined) continue
          if (frame.length === FRAME_ENTRIES || (frame.length > 0 && size + entry.bytes.length > FRAME_BYTES)) {
            await send(frame)
            frame = []
            size = 0
          }
          frame.push(entry.bytes)
          size += entry.bytes.length
        }
        if (frame.length > 0) await send(frame)
      }
      await lp.write(encodeCbor({ end: true }), { signal: step() })
      await stream.close({ signal: step() }).catch(() => {})
    } catch (err) {
      stream.abort(err as Error)
      if (this.#started) this.#logger.debug({ peer: connection.remotePeer.toString(), err: (err as Error).message }, 'serving history failed')
    }
  }
}

/**
 * The entries reachable from `want` and not from `have`, oldest first (at
 * most MAX_TRANSFER, the oldest ones). Walks both sides at once, newest clock
 * first, and stops once only `have`'s ancestry is left (git's "paint down to
 * the common ancestors"): an entry's parents have smaller clocks, so whatever
 * `have` reaches is painted before the walk gets down to it.
 */
async function difference (log: GroupLog, want: string[], have: string[]): Promise<string[]> {
  const queue = new FlatQueue<string>()
  const painted = new Map<string, 'want' | 'have'>()
  const times = new Map<string, number>()
  let wanted = 0
  const paint = async (hash: string, side: 'want' | 'have'): Promise<void> => {
    const before = painted.get(hash)
    if (before === side || before === 'have') return
    const entry = await log.get(hash)
    if (entry === undefined) return
    if (before === 'want') wanted--
    painted.set(hash, side)
    if (side === 'want') wanted++
    times.set(hash, entry.clock.time)
    // Newest first: FlatQueue pops the smallest priority.
    queue.push(hash, -entry.clock.time)
  }
  for (const hash of have) await paint(hash, 'have')
  for (const hash of want) await paint(hash, 'want')
  const found: string[] = []
  const popped = new Set<string>()
  while (queue.length > 0 && wanted > 0) {
    const hash = queue.pop() as string
    if (popped.has(hash)) continue
    popped.add(hash)
    const side = painted.get(hash) as 'want' | 'have'
    if (side === 'want') {
      wanted--
      found.push(hash)
    }
    const entry = await log.get(hash)
    for (const parent of entry?.next ?? []) {
      if (!popped.has(parent)) await paint(parent, side)
    }
  }
  found.sort((a, b) => (times.get(a) as number) - (times.get(b) as number) || (a < b ? -1 : a > b ? 1 : 0))
  return found.slice(0, MAX_TRANSFER)
}
