/**
 * Which of a log's entries past a clock time it holds, known from memory.
 *
 * Every entry a log holds has a clock no later than the log's time (each
 * entry's clock is past its parents', `group-log.ts`). So at a moment when
 * the log's time is T, an entry with a clock past T that the log holds must
 * have been joined since: remembering the hashes joined since then tells,
 * for any entry past T, whether it is held without reading the disk. That is
 * the common case of a conversation with two writers, where the other's
 * entries are often not past the log's own time (its writer had not yet seen
 * the latest of ours) and would otherwise each cost a read.
 *
 * The hashes are bounded: when `limit` are kept, T moves to the log's time
 * and they are forgotten; entries from before T are then looked up on disk.
 */
export class JoinedSince {
  /** The log's time when the hashes below started being kept (`Infinity`: nothing known yet). */
  #since = Infinity
  readonly #hashes = new Set<string>()
  readonly #limit: number

  constructor (limit = 256) {
    this.#limit = limit
  }

  /** Starts over from the log's time `time`: no entry past it is held. */
  restart (time: number): void {
    this.#since = time
    this.#hashes.clear()
  }

  /** Whether the log holds the entry `hash` with clock time `time`, or `undefined` if only the disk can tell. */
  holds (hash: string, time: number): boolean | undefined {
    return time > this.#since ? this.#hashes.has(hash) : undefined
  }

  /** The log took the entry `hash` with clock time `time`; `logTime` tells its time now (asked only to start over). */
  joined (hash: string, time: number, logTime: () => number): void {
    if (time <= this.#since) return
    if (this.#hashes.size >= this.#limit) this.restart(logTime())
    else this.#hashes.add(hash)
  }
}
