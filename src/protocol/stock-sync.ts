/**
 * Syncing with a peer that does not speak our protocols (a stock OrbitDB
 * replica): heads are swapped over OrbitDB's own protocol, which we dial: we
 * write one entry per stream (it reads each chunk as one entry), and split
 * what it writes as a CBOR sequence; the history it has is fetched over
 * bitswap, one block at a time, as it fetches ours.
 */
import type { PeerId, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { concatBytes } from './crypto.ts'
import { splitCborSequence } from './encoding.ts'
import type { GroupLog } from './group-log.ts'
import { cidOf } from './log-manifest.ts'
import type { StoredEntry } from './log-entry.ts'
import { joinReceived, MAX_SYNC_MESSAGE, type SyncDeps } from './sync-deps.ts'

/** OrbitDB's own heads protocol: this prefix followed by the log address. */
const STOCK_HEADS_PROTOCOL_PREFIX = '/orbitdb/heads'
/** Blocks fetched over bitswap, one by one, from a stock OrbitDB peer in one go. */
const MAX_BITSWAP_FETCH = 10_000
const BITSWAP_TIMEOUT_MS = 10_000

export interface StockSyncDeps extends SyncDeps {
  /** Fetches a block from the network (bitswap). */
  fetchBlock: (cid: CID, signal: AbortSignal) => Promise<Uint8Array>
  /** Takes the entries a peer gave, and asks it for what they lack. */
  receive: (log: GroupLog, entries: Uint8Array[], from: PeerId) => Promise<void>
}

export class StockSync {
  readonly #deps: StockSyncDeps

  constructor (deps: StockSyncDeps) {
    this.#deps = deps
  }

  /**
   * Swaps heads for `addresses` with a stock OrbitDB peer. It reads what a
   * stream brings as one entry per chunk, so each of our heads goes on a
   * stream of its own.
   */
  async swapHeads (peer: PeerId, addresses: string[], signal: AbortSignal): Promise<void> {
    for (const address of addresses) {
      const log = this.#deps.log(address)
      if (log === undefined) continue
      const heads = (await Promise.all(log.heads().map(async (head) => await log.get(head)))).filter((e): e is StoredEntry => e !== undefined)
      await this.#exchange(peer, log, heads[0]?.bytes, signal)
      for (const head of heads.slice(1)) await this.#exchange(peer, log, head.bytes, signal)
    }
  }

  /** A stock OrbitDB peer's history, one block at a time over bitswap, as OrbitDB itself fetches it. */
  async fetchBlocks (peer: PeerId, log: GroupLog): Promise<void> {
    const { stopping, running } = this.#deps
    let fetched = 0
    for (let want = log.missing(); want.length > 0 && fetched < MAX_BITSWAP_FETCH && running(); want = log.missing()) {
      const blocks = await Promise.all(want.slice(0, 32).map(async (hash) => {
        try {
          return await this.#deps.fetchBlock(cidOf(hash), AbortSignal.any([stopping, AbortSignal.timeout(BITSWAP_TIMEOUT_MS)]))
        } catch {
          return undefined
        }
      }))
      const found = blocks.filter((b): b is Uint8Array => b !== undefined)
      if (found.length === 0) break
      fetched += found.length
      await joinReceived(this.#deps, log, found, peer.toString())
    }
  }

  /**
   * One exchange over the stock protocol: gives the peer `head` (at most one:
   * it splits what arrives by chunk), and reads its heads, which it writes
   * back to back, unframed, then closes (we split them as a CBOR sequence).
   */
  async #exchange (peer: PeerId, log: GroupLog, head: Uint8Array | undefined, signal: AbortSignal): Promise<void> {
    const { libp2p, logger, running } = this.#deps
    const address = log.address
    let stream: Stream
    try {
      stream = await libp2p.dialProtocol(peer, STOCK_HEADS_PROTOCOL_PREFIX + address, { signal })
    } catch (err) {
      if (running()) logger.debug({ peer: peer.toString(), address, err: (err as Error).message }, 'no heads from a stock OrbitDB peer')
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
          if (size > MAX_SYNC_MESSAGE) throw new Error('stock heads exceed the size limit')
          chunks.push(bytes)
        }
      })()
      if (head !== undefined) stream.send(head)
      await stream.close({ signal })
      await reading
      const { items, rest } = splitCborSequence(concatBytes(...chunks))
      if (rest.length > 0) logger.warn({ peer: peer.toString(), address, bytes: rest.length }, 'dropped undecodable bytes from a stock heads exchange')
      await this.#deps.receive(log, items, peer)
    } catch (err) {
      stream.abort(err as Error)
      if (running()) logger.debug({ peer: peer.toString(), address, err: (err as Error).message }, 'stock heads exchange failed')
    } finally {
      signal.removeEventListener('abort', abort)
    }
  }
}
