/**
 * Walking a log in causal order. An entry's clock is one more than the
 * highest clock it points to, so sorting by clock (then hash, to break ties
 * between concurrent entries the same way on every run) puts every entry
 * after everything it depends on.
 */
import type { LogEntry } from '@orbitdb/core'

export type HashedEntry = LogEntry & { hash: string }

/** What a walk needs of a log (whose entries are `Entry`). */
export interface WalkableLog<Entry extends HashedEntry = HashedEntry> {
  heads: () => string[]
  get: (hash: string) => Promise<Entry | undefined>
}

export function byCausalOrder (a: HashedEntry, b: HashedEntry): number {
  return a.clock.time - b.clock.time || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0)
}

/**
 * The entries reachable from the log's heads up to those `isDone` says are
 * done with, oldest first. The walk stops, on each branch, at the first done
 * entry, so `isDone` must hold only for entries whose ancestors are done too.
 */
export async function unsettledEntries (log: WalkableLog, isDone: (hash: string) => boolean | Promise<boolean>): Promise<HashedEntry[]> {
  const found: HashedEntry[] = []
  const visited = new Set<string>()
  const pending = log.heads()
  while (pending.length > 0) {
    const hash = pending.pop() as string
    if (visited.has(hash)) continue
    visited.add(hash)
    if (await isDone(hash)) continue
    const entry = await log.get(hash)
    if (entry === undefined) continue
    found.push(entry)
    for (const next of entry.next) if (!visited.has(next)) pending.push(next)
  }
  return found.sort(byCausalOrder)
}

/** Entries from the log's heads backwards, newest first, up to `amount`. */
export async function * recentEntries<Entry extends HashedEntry> (log: WalkableLog<Entry>, amount: number): AsyncGenerator<Entry> {
  const entries = async (hashes: string[]): Promise<Entry[]> => {
    const found: Array<Entry | undefined> = await Promise.all(hashes.map(async (hash) => await log.get(hash)))
    return found.filter((e): e is Entry => e !== undefined)
  }
  const seen = new Set<string>()
  const frontier = await entries(log.heads())
  let given = 0
  while (frontier.length > 0 && given < amount) {
    frontier.sort(byCausalOrder)
    const entry = frontier.pop() as Entry
    if (seen.has(entry.hash)) continue
    seen.add(entry.hash)
    yield entry
    given++
    frontier.push(...await entries(entry.next.filter((hash) => !seen.has(hash))))
  }
}
