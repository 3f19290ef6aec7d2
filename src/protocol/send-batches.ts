/**
 * Calls that wait in a one-at-a-time queue behind each other, done together
 * when their turn comes: a peer that sends a burst into a group (a client
 * sending back to back, a bridge relaying a storm of alerts) seals the burst
 * with one write of its chain, appends it in one write of the log and hands
 * it to a relay in one hand-over, where each message alone would cost all
 * three. A call joins the batch still waiting for its turn, unless a task of
 * another kind was queued since (the queue's order holds), or the batch is full.
 */
import type PQueue from 'p-queue'

interface Waiting<Item, Result> {
  item: Item
  resolve: (result: Result) => void
  reject: (err: unknown) => void
}

export class SendBatches<Item, Result> {
  readonly #queue: PQueue
  readonly #run: (items: Item[]) => Promise<Array<Result | Error>>
  readonly #max: number
  /** The batch queued and not started yet, which calls may still join. */
  #open: Array<Waiting<Item, Result>> | undefined

  /** `run` does a batch's items in order, with an outcome for each (an `Error` rejects that call alone); it throws to reject them all. */
  constructor (queue: PQueue, max: number, run: (items: Item[]) => Promise<Array<Result | Error>>) {
    this.#queue = queue
    this.#max = max
    this.#run = run
  }

  /** Joins the waiting batch, or queues a new one; resolves with the item's outcome. */
  async add (item: Item): Promise<Result> {
    return await new Promise<Result>((resolve, reject) => {
      if (this.#open !== undefined && this.#open.length < this.#max) {
        this.#open.push({ item, resolve, reject })
        return
      }
      const batch = [{ item, resolve, reject }]
      this.#open = batch
      this.#queue.add(async () => {
        if (this.#open === batch) this.#open = undefined
        const outcomes = await this.#run(batch.map((waiting) => waiting.item))
        batch.forEach((waiting, i) => {
          const outcome = outcomes[i]
          if (outcome instanceof Error) waiting.reject(outcome)
          else waiting.resolve(outcome as Result)
        })
      }).catch((err: unknown) => { for (const waiting of batch) waiting.reject(err) })
    })
  }

  /** Calls from now on go in a new batch: another task was queued behind the waiting one. */
  close (): void {
    this.#open = undefined
  }
}
