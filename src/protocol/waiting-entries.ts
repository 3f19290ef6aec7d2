/**
 * What a group log (`group-log.ts`) does not hold yet: entries that came
 * before their ancestors, kept (bounded) until those come, and heads peers
 * told of that the log lacks. Together they are what the sync asks peers for.
 */
import type { StoredEntry } from './log-entry.ts'

/** Entries kept, per log, while an ancestor of theirs has not arrived; and heads wanted, at most. */
const MAX_WAITING_FOR_PARENTS = 10_000

export class WaitingEntries {
  /** Entries waiting for an ancestor, by hash; and which of them wait for which missing hash. */
  readonly #waiting = new Map<string, StoredEntry>()
  readonly #waitingOn = new Map<string, Set<string>>()
  /** Heads peers told us of that the log lacks. */
  readonly #wanted = new Set<string>()

  /** Whether an entry is waiting here for an ancestor. */
  has (hash: string): boolean {
    return this.#waiting.has(hash)
  }

  /** Keeps `entry` until `absent` (its parents the log lacks) come; past the bound, the oldest is forgotten. */
  wait (entry: StoredEntry, absent: string[]): void {
    if (!this.#waiting.has(entry.hash) && this.#waiting.size >= MAX_WAITING_FOR_PARENTS) {
      // Forget the oldest: it comes again with the next heads exchange.
      const oldest = this.#waiting.keys().next().value as string
      this.stopWaiting(oldest)
    }
    this.#waiting.set(entry.hash, entry)
    for (const hash of absent) {
      let children = this.#waitingOn.get(hash)
      if (children === undefined) this.#waitingOn.set(hash, children = new Set())
      children.add(entry.hash)
    }
  }

  /** The entry joined the log: it neither waits nor is wanted any more. */
  joined (hash: string): void {
    this.stopWaiting(hash)
    this.#wanted.delete(hash)
  }

  /** Lets go of an entry that waited. */
  stopWaiting (hash: string): void {
    const entry = this.#waiting.get(hash)
    if (entry === undefined) return
    this.#waiting.delete(hash)
    for (const parent of entry.next) {
      const children = this.#waitingOn.get(parent)
      children?.delete(hash)
      if (children?.size === 0) this.#waitingOn.delete(parent)
    }
  }

  /** The entries that waited for `parent`, as they stand when each is reached; then `parent` is off the list. */
  * childrenOf (parent: string): Generator<StoredEntry> {
    for (const child of this.#waitingOn.get(parent) ?? []) {
      const waiting = this.#waiting.get(child)
      if (waiting !== undefined) yield waiting
    }
    this.#waitingOn.delete(parent)
  }

  /** Hashes some waiting entry still lacks, and heads peers have that the log lacks: what to ask peers for. */
  missing (): string[] {
    const missing = new Set([...this.#waitingOn.keys()].filter((hash) => !this.#waiting.has(hash)))
    for (const hash of this.#wanted) missing.add(hash)
    return [...missing]
  }

  /** Notes heads a peer has; resolves with how many of them the log lacks (`holds` says what it holds). */
  async want (hashes: string[], holds: (hash: string) => Promise<boolean>): Promise<number> {
    let lacking = 0
    for (const hash of hashes) {
      if (this.#wanted.has(hash)) lacking++
      if (this.#wanted.has(hash) || this.#waiting.has(hash) || await holds(hash)) continue
      if (this.#wanted.size >= MAX_WAITING_FOR_PARENTS) break
      this.#wanted.add(hash)
      lacking++
    }
    return lacking
  }

  /** Forgets the heads peers told of and nobody could give: they come again with the next exchange. */
  unwant (): void {
    this.#wanted.clear()
  }

  clear (): void {
    this.#waiting.clear()
    this.#waitingOn.clear()
    this.#wanted.clear()
  }
}
