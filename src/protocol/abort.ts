/**
 * Operations that wait take `{ signal }` (js-libp2p's `AbortOptions`): an
 * abort rejects them at once with `AbortError`, and what they started is
 * stopped or undone. These are the ways a wait is made abortable: a check
 * before starting, a race while waiting, and a wait that may be left only
 * until the work reaches the point after which it stands.
 */
import type { AbortOptions } from '@libp2p/interface'
import { BertybotError } from './errors.ts'

export type { AbortOptions }

/**
 * The operation was aborted by its caller's signal. Named `AbortError`, as
 * the platform's and js-libp2p's are, so `err.name === 'AbortError'` holds;
 * `cause` is the signal's reason (a `TimeoutError` for `AbortSignal.timeout()`).
 */
export class AbortError extends BertybotError {
  constructor (what: string, reason?: unknown) {
    super('ERR_ABORTED', `${what} was aborted`, reason === undefined ? undefined : { cause: reason })
  }
}

/** Throws `AbortError` if `signal` has aborted. */
export function throwIfAborted (signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted === true) throw new AbortError(what, signal.reason)
}

/**
 * Resolves as `promise` does, or rejects with `AbortError` as soon as
 * `signal` aborts; what `promise` stands for is the caller's to stop.
 */
export async function raceAbort<T> (promise: T | Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (signal === undefined) return await promise
  throwIfAborted(signal, what)
  let onAbort = (): void => {}
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(new AbortError(what, signal.reason)) }
  })
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Runs `work`, which may be aborted until it calls `commit()`, the point
 * after which it stands (a message written to the log, a transaction
 * committed): an abort before that rejects at once with `AbortError`, and
 * `commit()` then throws it, so the work stops short of it. After `commit()`
 * the work runs to its end and its outcome is the caller's, abort or not.
 */
export async function abortableUntilCommit<T> (signal: AbortSignal | undefined, what: string, work: (commit: () => void) => Promise<T>): Promise<T> {
  if (signal === undefined) return await work(() => {})
  throwIfAborted(signal, what)
  let committed = false
  const commit = (): void => {
    throwIfAborted(signal, what)
    committed = true
  }
  return await new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { if (!committed) reject(new AbortError(what, signal.reason)) }
    signal.addEventListener('abort', onAbort, { once: true })
    work(commit).then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
  })
}
