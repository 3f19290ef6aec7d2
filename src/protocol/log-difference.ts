/**
 * What one side of a log has and the other lacks, from both sides' heads:
 * what a history transfer (`history-transfer.ts`) sends.
 */
import FlatQueue from 'flatqueue'
import type { GroupLog } from './group-log.ts'

/** Entries one history transfer sends at most; the asker asks again for the rest. */
export const MAX_TRANSFER = 200_000

/**
 * The entries reachable from `want` and not from `have`, oldest first (at
 * most MAX_TRANSFER, the oldest ones). Walks both sides at once, newest clock
 * first, and stops once only `have`'s ancestry is left (git's "paint down to
 * the common ancestors"): an entry's parents have smaller clocks, so whatever
 * `have` reaches is painted before the walk gets down to it.
 */
export async function difference (log: GroupLog, want: string[], have: string[]): Promise<string[]> {
  const queue = new FlatQueue<string>()
  const painted = new Map<string, 'want' | 'have'>()
  const times = new Map<string, number>()
  let wanted = 0
  const paint = async (hash: string, side: 'want' | 'have'): Promise<void> => {
    const before = painted.get(hash)
    if (before === side || before === 'have') return
    const entry = await log.get(hash)
    if (entry === undefined) return
    if (before === 'want') wanted--
    painted.set(hash, side)
    if (side === 'want') wanted++
    times.set(hash, entry.clock.time)
    // Newest first: FlatQueue pops the smallest priority.
    queue.push(hash, -entry.clock.time)
  }
  for (const hash of have) await paint(hash, 'have')
  for (const hash of want) await paint(hash, 'want')
  const found: string[] = []
  const popped = new Set<string>()
  while (queue.length > 0 && wanted > 0) {
    const hash = queue.pop() as string
    if (popped.has(hash)) continue
    popped.add(hash)
    const side = painted.get(hash) as 'want' | 'have'
    if (side === 'want') {
      wanted--
      found.push(hash)
    }
    const entry = await log.get(hash)
    for (const parent of entry?.next ?? []) {
      if (!popped.has(parent)) await paint(parent, side)
    }
  }
  found.sort((a, b) => (times.get(a) as number) - (times.get(b) as number) || (a < b ? -1 : a > b ? 1 : 0))
  return found.slice(0, MAX_TRANSFER)
}
