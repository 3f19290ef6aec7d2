/**
 * libp2p's datastore, with the peer store's records held in memory and
 * written back to disk in batches.
 *
 * libp2p's peer store reads a peer's record from disk and writes it again
 * each time a stream to or from that peer opens (to note the protocol), and
 * at every gossipsub mesh change (to tag the peer): in a group of a hundred,
 * where heads are exchanged several times a second, those reads and writes
 * were 7% of a member's CPU. Here a record is read from disk once, changed
 * in memory, and the changed ones are written together every few seconds and
 * when the node stops. A crash loses at most those seconds of address and
 * protocol updates, which the next identify of each peer gives back; what
 * this peer needs to find its groups again (their known peers, the hints) is
 * in the state database, written at once.
 *
 * Every other key (the DHT's records, the node's own key) goes straight
 * through. A query sees the records as written: the pending ones are flushed
 * first.
 */
import { BaseDatastore } from 'datastore-core'
import { Key, type Batch, type Datastore, type KeyQuery, type Pair, type Query } from 'interface-datastore'
import { NotFoundError } from 'interface-store'
import type { Logger } from './logger.ts'

/** The peer store's namespace (@libp2p/peer-store `NAMESPACE_COMMON`). */
const PEER_RECORDS = '/peers/'
/** How long a changed record waits before it is written. */
export const PEER_RECORDS_FLUSH_MS = 5_000
/** Unchanged records kept in memory at most; past it they are dropped (and read again when needed). */
const MAX_CLEAN_RECORDS = 10_000

type AbortOptions = { signal?: AbortSignal }

const isPeerRecord = (key: Key): boolean => key.toString().startsWith(PEER_RECORDS)

export class PeerRecordCache extends BaseDatastore {
  readonly #inner: Datastore
  readonly #logger: Logger
  /** key → record, or null where it was deleted. */
  readonly #records = new Map<string, Uint8Array | null>()
  readonly #dirty = new Set<string>()
  #timer: NodeJS.Timeout | undefined
  #flushing: Promise<void> = Promise.resolve()
  #closed = false

  constructor (inner: Datastore, logger: Logger) {
    super()
    this.#inner = inner
    this.#logger = logger
  }

  override async put (key: Key, value: Uint8Array, options?: AbortOptions): Promise<Key> {
    if (!isPeerRecord(key)) return await this.#inner.put(key, value, options)
    this.#set(key.toString(), value)
    return key
  }

  override async get (key: Key, options?: AbortOptions): Promise<Uint8Array> {
    if (!isPeerRecord(key)) return await this.#inner.get(key, options)
    const id = key.toString()
    const known = this.#records.get(id)
    if (known === null) throw new NotFoundError()
    if (known !== undefined) return known
    const value = await this.#inner.get(key, options)
    // A write while the read was on its way wins.
    if (!this.#records.has(id)) this.#remember(id, value)
    return value
  }

  override async has (key: Key, options?: AbortOptions): Promise<boolean> {
    if (!isPeerRecord(key)) return await this.#inner.has(key, options)
    const known = this.#records.get(key.toString())
    if (known !== undefined) return known !== null
    return await this.#inner.has(key, options)
  }

  override async delete (key: Key, options?: AbortOptions): Promise<void> {
    if (!isPeerRecord(key)) { await this.#inner.delete(key, options); return }
    this.#set(key.toString(), null)
  }

  override batch (): Batch {
    const ops: Array<{ key: Key, value?: Uint8Array }> = []
    return {
      put: (key, value) => { ops.push({ key, value }) },
      delete: (key) => { ops.push({ key }) },
      commit: async (options) => {
        for (const { key, value } of ops) {
          if (isPeerRecord(key)) this.#set(key.toString(), value ?? null)
        }
        const rest = ops.filter(({ key }) => !isPeerRecord(key))
        if (rest.length === 0) return
        const batch = this.#inner.batch()
        for (const { key, value } of rest) value === undefined ? batch.delete(key) : batch.put(key, value)
        await batch.commit(options)
      }
    }
  }

  override async * query (q: Query, options?: AbortOptions): AsyncGenerator<Pair> {
    await this.flush()
    yield * this.#inner.query(q, options)
  }

  override async * queryKeys (q: KeyQuery, options?: AbortOptions): AsyncGenerator<Key> {
    await this.flush()
    yield * this.#inner.queryKeys(q, options)
  }

  /**
   * Writes the changed records and takes no more: the node calls it when it
   * stops, after libp2p has, before the datastore closes. A record changed
   * later (an identify answered while libp2p stopped) is dropped, as a crash
   * would drop it, rather than kept on a timer that writes to a closed store.
   */
  async close (): Promise<void> {
    this.#closed = true
    await this.flush()
  }

  /** Writes the changed records now. */
  async flush (): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#flushing = this.#flushing.then(async () => { await this.#write() })
    await this.#flushing
  }

  async #write (): Promise<void> {
    if (this.#dirty.size === 0) return
    const ids = [...this.#dirty]
    this.#dirty.clear()
    const batch = this.#inner.batch()
    for (const id of ids) {
      const value = this.#records.get(id)
      value === null || value === undefined ? batch.delete(new Key(id)) : batch.put(new Key(id), value)
    }
    try {
      await batch.commit()
    } catch (err) {
      // Kept for the next flush, unless written again meanwhile (then it is dirty already).
      for (const id of ids) this.#dirty.add(id)
      throw err
    }
    this.#trim()
  }

  #set (id: string, value: Uint8Array | null): void {
    if (this.#closed) return
    this.#records.set(id, value)
    this.#dirty.add(id)
    this.#scheduleFlush()
  }

  #scheduleFlush (): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined
      this.flush().catch((err: unknown) => {
        this.#logger.warn({ err }, 'could not write peer records; trying again later')
        this.#scheduleFlush()
      })
    }, PEER_RECORDS_FLUSH_MS).unref()
  }

  #remember (id: string, value: Uint8Array): void {
    this.#records.set(id, value)
    if (this.#records.size > MAX_CLEAN_RECORDS + this.#dirty.size) this.#trim()
  }

  /** Drops unchanged records past the limit, those first kept first (a Map keeps insertion order). */
  #trim (): void {
    let excess = this.#records.size - this.#dirty.size - MAX_CLEAN_RECORDS
    for (const id of this.#records.keys()) {
      if (excess <= 0) break
      if (this.#dirty.has(id)) continue
      this.#records.delete(id)
      excess--
    }
  }
}
