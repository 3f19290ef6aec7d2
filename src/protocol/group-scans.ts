/**
 * The line a group's state is changed in: one task at a time (a scan of the
 * metadata log or of the message log, the group's start-up), and at most one
 * more scan of each log queued behind the one under way, since a scan takes
 * every entry the log holds when it runs: updates that come while one is
 * queued add nothing to it.
 */
import PQueue from 'p-queue'
import type { Logger } from './logger.ts'
import type { LogKind } from './state-records.ts'

export class GroupScans {
  readonly #line = new PQueue({ concurrency: 1 })
  readonly #queued: Record<LogKind, boolean> = { metadata: false, messages: false }
  readonly #scans: Record<LogKind, () => Promise<void>>
  readonly #logger: Logger
  /** True once the group is closed: nothing more is scanned. */
  readonly #closed: () => boolean

  constructor (scans: Record<LogKind, () => Promise<void>>, logger: Logger, closed: () => boolean) {
    this.#scans = scans
    this.#logger = logger
    this.#closed = closed
  }

  /** Queues a scan of `log`, unless one is queued already; a failure is logged. */
  schedule (log: LogKind): void {
    if (this.#queued[log] || this.#closed()) return
    this.#queued[log] = true
    this.#line.add(async () => {
      this.#queued[log] = false
      if (this.#closed()) return
      await this.#scans[log]()
    }).catch((err: unknown) => { this.#logger.error({ err, log }, 'processing a group log failed') })
  }

  /** Runs `task` in the line. */
  async run (task: () => Promise<void>): Promise<void> {
    await this.#line.add(task)
  }

  /** Resolves once nothing runs or waits. */
  async idle (): Promise<void> {
    await this.#line.onIdle()
  }
}
