/**
 * What a member removed from an epoch may still have written there. It holds
 * that epoch's secret, so whatever it appends passes the log's access
 * controller: its entries are told apart by where they stand. The epoch
 * change names the heads its author's message log had when it removed them
 * (`EpochStarted.c`); an entry of a removed member is taken if it is one of
 * those heads or behind them, and refused otherwise, the same way on every
 * member. What the removed member wrote concurrently, unseen by the remover,
 * is refused with the rest: it was written as it was being removed.
 */
import type { HashedEntry, WalkableLog } from './log-order.ts'

export class EpochClosure {
  /** Account ids of the members the epoch change removed. */
  readonly removed: ReadonlySet<string>
  readonly #log: WalkableLog
  readonly #heads: readonly string[]
  /** Entries at or behind the heads, as far as the walk got. */
  readonly #behind = new Set<string>()
  /** Where the walk back from the heads goes on (undefined until every head is in the log). */
  #frontier: HashedEntry[] | undefined

  constructor (log: WalkableLog, removed: ReadonlySet<string>, heads: readonly string[]) {
    this.#log = log
    this.removed = removed
    this.#heads = heads
  }

  /** `wait` while the heads are not all in the log yet: they come with the log's sync. */
  async admits (account: string, entry: HashedEntry): Promise<'admit' | 'refuse' | 'wait'> {
    if (!this.removed.has(account) || this.#behind.has(entry.hash)) return 'admit'
    const frontier = await this.#start()
    if (frontier === undefined) return 'wait'
    // Newest first: an entry is behind another only if its clock is lower, so the walk stops at the entry's time.
    while (!this.#behind.has(entry.hash)) {
      let newest = -1
      for (let i = 0; i < frontier.length; i++) if (newest === -1 || (frontier[i] as HashedEntry).clock.time > (frontier[newest] as HashedEntry).clock.time) newest = i
      if (newest === -1 || (frontier[newest] as HashedEntry).clock.time <= entry.clock.time) break
      const [walked] = frontier.splice(newest, 1) as [HashedEntry]
      for (const parent of walked.next) {
        if (this.#behind.has(parent)) continue
        const found = await this.#log.get(parent)
        if (found === undefined) continue
        this.#behind.add(found.hash)
        frontier.push(found)
      }
    }
    return this.#behind.has(entry.hash) ? 'admit' : 'refuse'
  }

  /** Whether every head is in the log, so that each entry can be told. */
  async ready (): Promise<boolean> {
    return await this.#start() !== undefined
  }

  async #start (): Promise<HashedEntry[] | undefined> {
    if (this.#frontier !== undefined) return this.#frontier
    const heads = await Promise.all(this.#heads.map(async (hash) => await this.#log.get(hash)))
    if (heads.some((head) => head === undefined)) return undefined
    this.#frontier = heads as HashedEntry[]
    for (const head of this.#frontier) this.#behind.add(head.hash)
    return this.#frontier
  }
}
