/**
 * Our reactions, edits, deletions and button presses on their way, each a
 * record `a!<conversation>!<n>` written in the same batch as what it does to
 * the history: what the person sees done is sent, even after a crash. The
 * record keeps the sealed message once sealed, so a crash after sending sends
 * the same bytes again, which make one message. Sent, it is deleted.
 */
import type { Logger, OutgoingMessage, PrivateLevel } from '../protocol/index.ts'
import { decodeRecord, encodeRecord, pendingActionSchema, seqKey, type PendingAction } from './history-records.ts'
import type { BatchOp } from './waiting-changes.ts'

export interface StoredAction extends PendingAction {
  readonly key: string
  readonly conversation: string
}

export class PendingActions {
  readonly #db: PrivateLevel
  readonly #logger: Logger
  readonly #next = new Map<string, number>()

  private constructor (db: PrivateLevel, logger: Logger) {
    this.#db = db
    this.#logger = logger
  }

  static async load (db: PrivateLevel, logger: Logger): Promise<PendingActions> {
    const actions = new PendingActions(db, logger)
    for await (const key of db.keys({ gt: 'a!', lt: 'a"' })) {
      const [, conversation = '', n = '0'] = key.split('!')
      actions.#next.set(conversation, Math.max(actions.#next.get(conversation) ?? 0, parseInt(n, 16) + 1))
    }
    return actions
  }

  /** The write that records `message` to send, and the record it makes. */
  add (conversation: string, message: OutgoingMessage): { op: BatchOp, action: StoredAction } {
    const n = this.#next.get(conversation) ?? 0
    this.#next.set(conversation, n + 1)
    const key = `a!${conversation}!${seqKey(n)}`
    return { op: { type: 'put', key, value: encodeRecord({ message }) }, action: { key, conversation, message } }
  }

  /** Every action not sent yet, per conversation in the order they were made. */
  async all (): Promise<StoredAction[]> {
    const found: StoredAction[] = []
    for await (const [key, value] of this.#db.iterator({ gt: 'a!', lt: 'a"' })) {
      const record = decodeRecord(pendingActionSchema, value, key, this.#logger)
      if (record !== undefined) found.push({ ...record, key, conversation: key.split('!')[1] ?? '' })
    }
    return found
  }

  async sealed (action: StoredAction, sealed: string): Promise<void> {
    await this.#db.put(action.key, encodeRecord({ message: action.message, sealed }))
  }

  async done (action: StoredAction): Promise<void> {
    await this.#db.del(action.key)
  }
}
