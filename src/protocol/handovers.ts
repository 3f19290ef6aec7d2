/**
 * How far each of a group's logs was handed over to another peer (a member or
 * a replica) this session, as the sync reports it (`handedOver`), and waits
 * on it: a member leaving keeps the group open until its leave got out.
 */
import { NotRunningError } from './errors.ts'

export class HandOvers {
  readonly #upTo = new Map<string, number>()
  readonly #waiters = new Set<() => void>()
  #closed = false

  /** Our entries of the log at `address` up to clock time `upTo` reached a peer. */
  record (address: string, upTo: number): void {
    this.#upTo.set(address, Math.max(upTo, this.#upTo.get(address) ?? -1))
    for (const look of [...this.#waiters]) look()
  }

  /** Resolves once the log's entries up to `time` reached a peer; rejects with `NotRunningError` once closed. */
  async until (address: string, time: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const look = (): void => {
        const handed = (this.#upTo.get(address) ?? -1) >= time
        if (!handed && !this.#closed) return
        this.#waiters.delete(look)
        if (handed) resolve()
        else reject(new NotRunningError('closed before it reached another peer'))
      }
      this.#waiters.add(look)
      look()
    })
  }

  close (): void {
    this.#closed = true
    for (const look of [...this.#waiters]) look()
  }
}
