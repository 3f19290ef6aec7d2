/**
 * Where a new entry's `refs` point besides its parents: entries at distances
 * 2, 4, 8, ... 64 back, so that a stock OrbitDB peer fetching our history
 * block by block fetches along them in parallel (our own peers fetch history
 * in bulk and do not need them).
 *
 * The path back is chosen from the entries alone (at each step, the parent
 * of the lowest hash), so refs tell nothing that `next` does not: every
 * writer with the same parents writes the same refs. An earlier build took
 * them from the order entries had reached the writer, which differs from
 * peer to peer when members write at once, and so told whoever holds the
 * log which entries came from the same peer.
 */

const DISTANCES = [2, 4, 8, 16, 32, 64]
const DEPTH = DISTANCES[DISTANCES.length - 1] as number
/** Paths remembered: a writer's next entries start from its latest ones. */
const REMEMBERED = 256

export type ParentsLookup = (hash: string) => Promise<{ next: string[] } | undefined>

function lowest (hashes: string[]): string | undefined {
  let found: string | undefined
  for (const hash of hashes) if (found === undefined || hash < found) found = hash
  return found
}

export class EntryRefs {
  readonly #parentsOf: ParentsLookup
  /** Entry hash → the path back from it, itself first, at most DEPTH long. */
  readonly #paths = new Map<string, string[]>()

  constructor (parentsOf: ParentsLookup) {
    this.#parentsOf = parentsOf
  }

  /** The refs of an entry whose parents are `next`. */
  async of (next: string[]): Promise<string[]> {
    const start = lowest(next)
    if (start === undefined) return []
    // The parent on the path is at distance 1.
    const path = await this.#path(start)
    const refs: string[] = []
    for (const distance of DISTANCES) {
      const hash = path[distance - 1]
      if (hash !== undefined && !next.includes(hash)) refs.push(hash)
    }
    return refs
  }

  async #path (hash: string): Promise<string[]> {
    const known = this.#paths.get(hash)
    if (known !== undefined) return known
    const path = [hash]
    let current = hash
    while (path.length < DEPTH) {
      const remembered = current === hash ? undefined : this.#paths.get(current)
      if (remembered !== undefined) {
        path.push(...remembered.slice(1, DEPTH - path.length + 1))
        break
      }
      const parent = lowest((await this.#parentsOf(current))?.next ?? [])
      if (parent === undefined) break
      path.push(parent)
      current = parent
    }
    this.#paths.set(hash, path)
    if (this.#paths.size > REMEMBERED) this.#paths.delete(this.#paths.keys().next().value as string)
    return path
  }
}
