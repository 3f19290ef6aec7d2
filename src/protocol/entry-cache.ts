/**
 * Recently used log entries, decoded, shared by every log of a peer and
 * bounded by their bytes: a peer in a thousand conversations keeps the
 * entries it is working with, not a cache per log (OrbitDB gives each log
 * three caches of 1 000 entries: 1.5 MB apiece once full).
 */
import { LRUCache } from 'lru-cache'
import type { StoredEntry } from './log-entry.ts'

/** Bytes of entries kept in memory for the whole peer. */
const DEFAULT_BUDGET = 32 * 1024 * 1024

export class EntryCache {
  readonly #entries: LRUCache<string, StoredEntry>

  constructor (budget = DEFAULT_BUDGET) {
    // A decoded entry weighs about twice its bytes (the hashes it names are strings).
    this.#entries = new LRUCache({ maxSize: budget, sizeCalculation: (entry) => 2 * entry.bytes.length + 200 })
  }

  get (hash: string): StoredEntry | undefined {
    return this.#entries.get(hash)
  }

  set (entry: StoredEntry): void {
    this.#entries.set(entry.hash, entry)
  }
}
