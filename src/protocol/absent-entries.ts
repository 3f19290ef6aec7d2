/**
 * Hashes a log looked up and does not hold, until it takes them: a peer's
 * heads that this one lacks are asked about at every heads exchange and
 * history transfer (several a second with each peer in a big group that is
 * forming), and each would otherwise be a read of the state database that
 * finds nothing.
 *
 * A look-up that was under way while the log took an entry is not kept (the
 * entry may be the one it looked for, written after the read): `lookingUp()`
 * is taken before the read and given back to `notFound`.
 */
import { LRUCache } from 'lru-cache'

export class AbsentEntries {
  readonly #hashes: LRUCache<string, true>
  /** How many entries the log took: a look-up that saw another value may be out of date. */
  #taken = 0

  constructor (max = 512) {
    this.#hashes = new LRUCache({ max })
  }

  has (hash: string): boolean {
    return this.#hashes.has(hash)
  }

  /** What to give `notFound` for a look-up starting now. */
  lookingUp (): number {
    return this.#taken
  }

  /** A look-up that started at `since` (`lookingUp()`) did not find `hash`. */
  notFound (hash: string, since: number): void {
    if (since === this.#taken) this.#hashes.set(hash, true)
  }

  /** The log took the entry `hash`. */
  taken (hash: string): void {
    this.#taken++
    this.#hashes.delete(hash)
  }
}
