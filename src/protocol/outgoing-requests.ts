/**
 * Our contact requests on their way: one try at a time (find the responder,
 * run the handshake: `contact-requester.ts`), tried again with backoff (1 s
 * to 1 min) until one is delivered, refused, or given up. What came of each
 * try is the contacts' to record (`contacts.ts`).
 */
import { Backoff } from './backoff.ts'
import { sendContactRequest, type RequesterDeps, type RequestOutcome } from './contact-requester.ts'
import type { ContactRecord } from './state-records.ts'

const MIN_RETRY_MS = 1_000
const MAX_RETRY_MS = 60_000

export interface OutgoingRequestsDeps extends RequesterDeps {
  displayName: string | undefined
  multiaddrs: () => string[]
  /** What we know of `account` now: a try is made only while our request to it is outgoing. */
  record: (account: string) => ContactRecord | undefined
  /** Records what came of a try. */
  settle: (account: string, record: ContactRecord, result: RequestOutcome) => Promise<void>
}

export class OutgoingRequests {
  readonly #deps: OutgoingRequestsDeps
  /** The requests being retried, each with what stops it. */
  readonly #retrying = new Map<string, AbortController>()
  readonly #stop = new AbortController()

  constructor (deps: OutgoingRequestsDeps) {
    this.#deps = deps
  }

  /** One try at delivering the request to `account`, recorded before it resolves; `signal` stops it (`unreachable` then). */
  async attempt (account: string, signal?: AbortSignal): Promise<RequestOutcome['outcome']> {
    const record = this.#deps.record(account)
    if (record?.state !== 'outgoing' || record.seed === undefined) return 'delivered'
    const { libp2p, identity, logger, displayName, multiaddrs, now } = this.#deps
    const result = await sendContactRequest({ libp2p, identity, logger, now }, {
      pk: record.pk,
      seed: record.seed,
      hints: record.hints,
      introduction: { displayName: displayName ?? '', message: record.message, hints: multiaddrs() }
    }, signal === undefined ? this.#stop.signal : AbortSignal.any([this.#stop.signal, signal]))
    await this.#deps.settle(account, record, result)
    return result.outcome
  }

  /** Tries again with backoff until the request is delivered, refused, or `giveUp` is called. */
  retry (account: string): void {
    if (this.#retrying.has(account) || this.#stop.signal.aborted) return
    const controller = new AbortController()
    this.#retrying.set(account, controller)
    const signal = AbortSignal.any([controller.signal, this.#stop.signal])
    void (async () => {
      const backoff = new Backoff({ minMs: MIN_RETRY_MS, maxMs: MAX_RETRY_MS })
      while (!signal.aborted) {
        await backoff.wait(signal)
        if (await this.attempt(account) !== 'unreachable') return
      }
    })().catch((err: unknown) => {
      if (!signal.aborted) this.#deps.logger.warn({ err, account }, 'stopped retrying a contact request')
    }).finally(() => {
      if (this.#retrying.get(account) === controller) this.#retrying.delete(account)
    })
  }

  /** Stops retrying the request to `account` (delivered some other way, accepted, or withdrawn). */
  giveUp (account: string): void {
    this.#retrying.get(account)?.abort()
  }

  /** Stops every try and retry. */
  stop (): void {
    this.#stop.abort()
    for (const retrying of this.#retrying.values()) retrying.abort()
  }
}
