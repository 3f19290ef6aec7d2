/**
 * Keeps the group logs this peer has open in sync with other peers.
 *
 * - New entries are published on a gossipsub topic named by the log's
 *   address, one entry per message, as OrbitDB's own sync does, so a stock
 *   OrbitDB peer receives them too.
 * - When a peer subscribes to one of our topics (or we open a log it already
 *   serves), both sides swap their heads over `/bertybot/heads/1.0.0`, one
 *   length-prefixed CBOR message each way covering every log they share.
 *   OrbitDB's own heads exchange writes entries back to back with no framing,
 *   which a receiver in another process cannot split (STACK.md); ours frames.
 * - A peer that does not speak our protocol (a stock OrbitDB replica) gets
 *   our heads on the topic instead, where each message is one entry, and we
 *   read its heads over OrbitDB's own protocol, sending it nothing (the
 *   direction in which the missing framing cannot hurt: we split what it
 *   sends as a CBOR sequence).
 *
 * Entries from the network are validated here (shape, then OrbitDB's own
 * checks through the access controller when joined); a bad one is logged and
 * dropped, never thrown.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { Entry, type Log, type LogEntry } from '@orbitdb/core'
import { EventEmitter } from 'eventemitter3'
import { z } from 'zod'
import { concatBytes } from './crypto.ts'
import { decodeCbor, describeIssues, encodeCbor, splitCborSequence } from './encoding.ts'
import { logEntrySchema } from './log-entry.ts'
import type { Logger } from './logger.ts'
import { bytes } from './schemas.ts'

export const HEADS_PROTOCOL = '/bertybot/heads/1.0.0'
/** OrbitDB's own heads protocol: this prefix followed by the log address. */
const STOCK_HEADS_PROTOCOL_PREFIX = '/orbitdb/heads'
const MAX_HEADS_MESSAGE = 4 * 1024 * 1024
const MAX_ENTRY_BYTES = 256 * 1024
const EXCHANGE_TIMEOUT_MS = 15_000

const headsMessageSchema = z.object({
  logs: z.array(z.object({ address: z.string().max(512), heads: z.array(bytes()).max(256) })).max(4096)
})

export interface SyncedLog {
  readonly log: Log
  /** Joins a verified-shape entry into the log; rejects if OrbitDB refuses it. */
  join: (entry: LogEntry & { hash: string }) => Promise<void>
}

export interface LogSyncEvents {
  /** A peer swapped heads with us for `address`: it serves that log. */
  peer: (address: string, peerId: string) => void
}

type Services = { pubsub: GossipSub }

export class LogSync extends EventEmitter<LogSyncEvents> {
  readonly #libp2p: Libp2p<Services>
  readonly #logger: Logger
  readonly #logs = new Map<string, SyncedLog>()
  readonly #stopping = new AbortController()
  #started = false

  constructor (libp2p: Libp2p<Services>, logger: Logger) {
    super()
    this.#libp2p = libp2p
    this.#logger = logger
  }

  get #pubsub (): GossipSub {
    return this.#libp2p.services.pubsub
  }

  async start (): Promise<void> {
    if (this.#started) return
    this.#started = true
    await this.#libp2p.handle(HEADS_PROTOCOL, (stream, connection) => { void this.#answer(stream, connection) }, { maxInboundStreams: 64 })
    this.#pubsub.addEventListener('message', this.#onMessage)
    this.#pubsub.addEventListener('subscription-change', this.#onSubscriptionChange)
  }

  async stop (): Promise<void> {
    if (!this.#started) return
    this.#started = false
    this.#stopping.abort()
    this.#pubsub.removeEventListener('message', this.#onMessage)
    this.#pubsub.removeEventListener('subscription-change', this.#onSubscriptionChange)
    await this.#libp2p.unhandle(HEADS_PROTOCOL)
    for (const address of this.#logs.keys()) this.#pubsub.unsubscribe(address)
    this.#logs.clear()
  }

  /** Starts syncing a log: subscribes to its topic and swaps heads with the peers already on it. */
  register (address: string, synced: SyncedLog): void {
    this.#logs.set(address, synced)
    this.#pubsub.subscribe(address)
    for (const peer of this.#pubsub.getSubscribers(address)) void this.#exchange(peer, [address])
  }

  unregister (address: string): void {
    if (!this.#logs.delete(address)) return
    if (this.#started) this.#pubsub.unsubscribe(address)
  }

  /** Announces a new entry of ours to the log's topic. */
  async publish (address: string, entryBytes: Uint8Array): Promise<void> {
    if (!this.#started) return
    try {
      await this.#pubsub.publish(address, entryBytes)
    } catch (err) {
      this.#logger.debug({ address, err }, 'could not publish entry (peers will get it with the next heads exchange)')
    }
  }

  readonly #onSubscriptionChange = (event: CustomEvent<{ peerId: PeerId, subscriptions: Array<{ topic: string, subscribe: boolean }> }>): void => {
    const { peerId, subscriptions } = event.detail
    const addresses = subscriptions.filter((s) => s.subscribe && this.#logs.has(s.topic)).map((s) => s.topic)
    if (addresses.length > 0) void this.#exchange(peerId, addresses)
  }

  readonly #onMessage = (event: CustomEvent<{ topic: string, data: Uint8Array }>): void => {
    const { topic, data } = event.detail
    const synced = this.#logs.get(topic)
    if (synced === undefined) return
    void this.#receive(topic, synced, [data], 'pubsub')
  }

  async #heads (address: string): Promise<Uint8Array[]> {
    const synced = this.#logs.get(address)
    if (synced === undefined) return []
    const out: Uint8Array[] = []
    for (const head of await synced.log.heads()) {
      const bytes: unknown = head.hash === undefined ? undefined : await synced.log.storage.get(head.hash)
      if (bytes instanceof Uint8Array) out.push(bytes)
    }
    return out
  }

  async #headsMessage (addresses: string[]): Promise<Uint8Array> {
    const logs = await Promise.all(addresses.map(async (address) => ({ address, heads: await this.#heads(address) })))
    return encodeCbor({ logs })
  }

  /** Dials `peer` and swaps heads for `addresses`. */
  async #exchange (peer: PeerId, addresses: string[]): Promise<void> {
    if (!this.#started) return
    const signal = AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(EXCHANGE_TIMEOUT_MS)])
    let stream: Stream
    try {
      stream = await this.#libp2p.dialProtocol(peer, HEADS_PROTOCOL, { signal })
    } catch (err) {
      if ((err as Error).name === 'UnsupportedProtocolError') {
        // A stock OrbitDB peer: give it our heads where it listens, on the topics, and read its own.
        for (const address of addresses) {
          for (const head of await this.#heads(address)) await this.publish(address, head)
          await this.#pullStockHeads(peer, address, signal)
        }
      } else if (this.#started) {
        this.#logger.debug({ peer: peer.toString(), err: (err as Error).message }, 'heads exchange: dial failed')
      }
      return
    }
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_HEADS_MESSAGE })
      await lp.write(await this.#headsMessage(addresses), { signal })
      const reply = await lp.read({ signal })
      await stream.close({ signal }).catch(() => {})
      this.#logger.debug({ peer: peer.toString(), logs: addresses.length }, 'swapped heads')
      await this.#receiveHeadsMessage(reply.subarray(), peer)
    } catch (err) {
      stream.abort(err as Error)
      if (this.#started) this.#logger.debug({ peer: peer.toString(), err: (err as Error).message }, 'heads exchange failed')
    }
  }

  /** Reads a stock OrbitDB peer's heads for `address`: it writes them back to back, unframed, then closes. */
  async #pullStockHeads (peer: PeerId, address: string, signal: AbortSignal): Promise<void> {
    const synced = this.#logs.get(address)
    if (synced === undefined) return
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
      // We send no heads of ours on this stream (they went on the topic): close our side at once.
      await stream.close({ signal })
      await reading
      const { items, rest } = splitCborSequence(concatBytes(...chunks))
      if (rest.length > 0) this.#logger.warn({ peer: peer.toString(), address, bytes: rest.length }, 'dropped undecodable bytes from a stock heads exchange')
      await this.#receive(address, synced, items, peer.toString())
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
      await lp.write(await this.#headsMessage(addresses), { signal })
      await stream.close({ signal }).catch(() => {})
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

  async #receiveHeadsMessage (bytes: Uint8Array, from: PeerId): Promise<void> {
    const message = this.#parseHeadsMessage(bytes, from)
    if (message === undefined) return
    for (const { address, heads } of message.logs) {
      const synced = this.#logs.get(address)
      if (synced === undefined) continue
      this.emit('peer', address, from.toString())
      await this.#receive(address, synced, heads, from.toString())
    }
  }

  async #receive (address: string, synced: SyncedLog, entries: Uint8Array[], from: string): Promise<void> {
    for (const bytes of entries) {
      if (bytes.length > MAX_ENTRY_BYTES) {
        this.#logger.warn({ address, from, size: bytes.length }, 'dropped an oversized log entry')
        continue
      }
      let entry: LogEntry & { hash: string }
      try {
        entry = await Entry.decode(bytes)
      } catch (err) {
        this.#logger.warn({ address, from, reason: (err as Error).message }, 'dropped a log entry that does not decode')
        continue
      }
      const shape = logEntrySchema.safeParse(entry)
      if (!shape.success || entry.id !== address) {
        this.#logger.warn({ address, from, entry: entry.hash, reason: shape.success ? 'belongs to another log' : describeIssues(shape.error) }, 'dropped a malformed log entry')
        continue
      }
      try {
        await synced.join(entry)
      } catch (err) {
        if (this.#started) this.#logger.warn({ address, from, entry: entry.hash, reason: firstLine(err) }, 'rejected a log entry')
      }
    }
  }
}

function firstLine (err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n').join(' ')
}
