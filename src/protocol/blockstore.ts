/**
 * The peer's blockstore: a LevelDB of blocks (log manifests, blocks fetched
 * over bitswap, entries stored by older versions) that also answers for the
 * log entries kept in the state database, so bitswap serves them to a stock
 * OrbitDB peer fetching a log's history block by block. Entries are kept once,
 * where the log's heads are, and written with them atomically. Stored
 * files' blocks are kept here too (`file-store.ts`).
 */
import * as dagCbor from '@ipld/dag-cbor'
import { LevelBlockstore } from 'blockstore-level'
import type { AbortOptions } from '@libp2p/interface'
import { base58btc } from 'multiformats/bases/base58'
import type { CID } from 'multiformats/cid'
import type { BlockStore } from './log-manifest.ts'

/** The blockstore without the network, as logs and stored files use it. */
export interface LocalBlocks extends BlockStore {
  delete: (cid: CID) => Promise<void>
}

/** Looks up a log entry's bytes by its hash (base58btc CID string). */
export type EntryLookup = (hash: string) => Promise<Uint8Array | undefined>

export class PeerBlockstore extends LevelBlockstore {
  readonly #entries: EntryLookup

  constructor (path: string, entries: EntryLookup) {
    super(path)
    this.#entries = entries
  }

  override async has (cid: CID, options?: AbortOptions): Promise<boolean> {
    if (await this.#entry(cid) !== undefined) return true
    return await super.has(cid, options)
  }

  override async * get (cid: CID, options?: AbortOptions): AsyncGenerator<Uint8Array> {
    const entry = await this.#entry(cid)
    if (entry !== undefined) {
      yield entry
      return
    }
    yield * super.get(cid, options)
  }

  /** The same store, local only, as a group log reads it. */
  local (): LocalBlocks {
    return {
      get: async (cid) => {
        if (!await super.has(cid)) return undefined
        const chunks: Uint8Array[] = []
        for await (const chunk of super.get(cid)) chunks.push(chunk)
        return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)
      },
      has: async (cid) => await super.has(cid),
      put: async (cid, bytes) => { await super.put(cid, bytes) },
      delete: async (cid) => { await super.delete(cid) }
    }
  }

  async #entry (cid: CID): Promise<Uint8Array | undefined> {
    if (cid.version !== 1 || cid.code !== dagCbor.code) return undefined
    return await this.#entries(cid.toString(base58btc))
  }
}
