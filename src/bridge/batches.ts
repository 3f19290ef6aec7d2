/**
 * Runs the bridge's state changes one commit at a time, and those that came
 * in meanwhile together in the next commit (group commit): webhooks of a
 * burst share one write to disk instead of queueing for one each, and never
 * conflict with one another over a group's flood state.
 */
import type { TaskContext } from '../framework/index.ts'

type Job = (ctx: TaskContext) => Promise<unknown>
interface Waiting { job: Job, resolve: (value: unknown) => void, reject: (err: unknown) => void }

/** At most this many jobs in one commit: a commit's batch is held in memory. */
const MAX_BATCH = 200

export class BatchedRunner {
  readonly #run: <T>(fn: (ctx: TaskContext) => Promise<T>) => Promise<T>
  readonly #waiting: Waiting[] = []
  #working: Promise<void> | undefined

  /** `run` commits what its function did, or nothing if it throws (`bot.run`). */
  constructor (run: <T>(fn: (ctx: TaskContext) => Promise<T>) => Promise<T>) {
    this.#run = run
  }

  /** Resolves with what `job` returned once its effects are committed. `job` may run more than once: no side effects. */
  async submit<T> (job: (ctx: TaskContext) => Promise<T>): Promise<T> {
    const done = new Promise<T>((resolve, reject) => {
      this.#waiting.push({ job, resolve: resolve as (value: unknown) => void, reject })
    })
    this.#kick()
    return await done
  }

  #kick (): void {
    if (this.#working !== undefined) return
    this.#working = this.#work().finally(() => {
      this.#working = undefined
      // Submitted after the loop's last look, before this ran: not left waiting.
      if (this.#waiting.length > 0) this.#kick()
    })
  }

  /** Resolves once everything submitted so far is committed or failed. */
  async idle (): Promise<void> {
    while (this.#working !== undefined) await this.#working
  }

  async #work (): Promise<void> {
    while (this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, MAX_BATCH)
      try {
        const results = await this.#run(async (ctx) => {
          const out: unknown[] = []
          for (const { job } of batch) out.push(await job(ctx))
          return out
        })
        batch.forEach((w, i) => { w.resolve(results[i]) })
      } catch (err) {
        if (batch.length === 1) {
          batch[0]?.reject(err)
          continue
        }
        // One job's failure must not fail the others: each alone, in order.
        for (const w of batch) {
          try {
            w.resolve(await this.#run(w.job))
          } catch (alone) {
            w.reject(alone)
          }
        }
      }
    }
  }
}
