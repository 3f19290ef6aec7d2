/**
 * Waiting on events, never on the clock: each wait has a timeout that fails
 * the test with what it was waiting for.
 */
export const DEFAULT_TIMEOUT_MS = 30_000

/** Resolves with the first value `subscribe` hands over; `subscribe` returns its own unsubscribe. */
export async function waitFor<T> (what: string, subscribe: (done: (value: T) => void) => () => void, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    let unsubscribe: (() => void) | undefined
    const timer = setTimeout(() => {
      unsubscribe?.()
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
    }, timeoutMs)
    let settled = false
    unsubscribe = subscribe((value) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      queueMicrotask(() => unsubscribe?.())
      resolve(value)
    })
  })
}

/**
 * Waits until `condition` holds, looking again every 50 ms: only for a state
 * a peer exposes no event for (the connections it holds). A condition that
 * throws is asked again (the state may not be there yet); if it never holds,
 * the timeout says what it last threw.
 */
export async function pollUntil (what: string, condition: () => boolean | Promise<boolean>, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  let lastError: unknown
  try {
    await waitFor(what, (done) => {
      let checking = false
      // An asynchronous condition is not asked again before its last answer came.
      const check = (): void => {
        if (checking) return
        checking = true
        void (async () => await condition())().then((holds) => { if (holds) done(true) }, (err: unknown) => { lastError = err }).finally(() => { checking = false })
      }
      const timer = setInterval(check, 50)
      check()
      return () => { clearInterval(timer) }
    }, timeoutMs)
  } catch (err) {
    if (lastError === undefined) throw err
    throw new Error(`${(err as Error).message}; the condition last threw: ${String(lastError)}`, { cause: lastError })
  }
}

interface Subscribable<E> {
  on: (name: any, listener: (event: E) => void) => unknown
  off: (name: any, listener: (event: E) => void) => unknown
}

/** Every event of one kind an emitter produces, from now on, with waits on their number. */
export class Inbox<E> {
  readonly items: E[] = []
  readonly #waiters = new Set<() => void>()

  constructor (emitter: Subscribable<E>, name: string) {
    emitter.on(name, (event: E) => {
      this.items.push(event)
      for (const wake of this.#waiters) wake()
    })
  }

  /** Waits until `predicate` holds over the items received so far. */
  async until (what: string, predicate: (items: E[]) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<E[]> {
    return await waitFor(what, (done) => {
      const check = (): void => { if (predicate(this.items)) done(this.items) }
      this.#waiters.add(check)
      check()
      return () => { this.#waiters.delete(check) }
    }, timeoutMs)
  }

  async count (n: number, what = `${n} events`, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<E[]> {
    return await this.until(what, (items) => items.length >= n, timeoutMs)
  }
}
