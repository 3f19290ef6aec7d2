/**
 * Changes (reactions, edits, deletions) whose message is not in the history
 * yet: one that came out of order (its message delivered again after a
 * crash, or held back), or one of a message still on its way to us. Each is
 * kept under `w!<conversation>!<n>`, n counting up in the order they came,
 * and applied in the same write as the message once it is there.
 *
 * Bounded per conversation (a member could react to ids that never come):
 * past `MAX_WAITING`, the oldest is dropped with a log line. The index (which
 * messages have changes waiting) is kept in memory, read at open.
 */
import type { Logger, PrivateLevel } from '../protocol/index.ts'
import { decodeRecord, encodeRecord, seqKey, waitingChangeSchema, type MessageChange } from './history-records.ts'

/** Changes that may wait per conversation. */
export const MAX_WAITING = 1000

export type BatchOp = { type: 'put', key: string, value: Uint8Array } | { type: 'del', key: string }

interface Waiting { key: string, target: string }

export class WaitingChanges {
  readonly #db: PrivateLevel
  readonly #logger: Logger
  /** Per conversation, oldest first. */
  readonly #index = new Map<string, Waiting[]>()
  readonly #next = new Map<string, number>()

  private constructor (db: PrivateLevel, logger: Logger) {
    this.#db = db
    this.#logger = logger
  }

  static async load (db: PrivateLevel, logger: Logger): Promise<WaitingChanges> {
    const waiting = new WaitingChanges(db, logger)
    for await (const [key, value] of db.iterator({ gt: 'w!', lt: 'w"' })) {
      const [, conversation = '', n = '0'] = key.split('!')
      const record = decodeRecord(waitingChangeSchema, value, key, logger)
      waiting.#next.set(conversation, Math.max(waiting.#next.get(conversation) ?? 0, parseInt(n, 16) + 1))
      if (record === undefined) continue
      const list = waiting.#index.get(conversation) ?? []
      list.push({ key, target: record.target })
      waiting.#index.set(conversation, list)
    }
    return waiting
  }

  /** The writes that keep `change` until message `target` comes (and drop the oldest past the bound). */
  add (conversation: string, target: string, change: MessageChange): BatchOp[] {
    const n = this.#next.get(conversation) ?? 0
    this.#next.set(conversation, n + 1)
    const key = `w!${conversation}!${seqKey(n)}`
    const list = this.#index.get(conversation) ?? []
    list.push({ key, target })
    this.#index.set(conversation, list)
    const ops: BatchOp[] = [{ type: 'put', key, value: encodeRecord({ target, change }) }]
    while (list.length > MAX_WAITING) {
      const dropped = list.shift() as Waiting
      ops.push({ type: 'del', key: dropped.key })
      this.#logger.warn({ conversation, target: dropped.target }, 'dropped a reaction or edit that waited too long for its message')
    }
    return ops
  }

  /** The changes waiting for message `target`, in the order they came, and the writes that take them out; none is a cheap answer. */
  async take (conversation: string, target: string): Promise<{ changes: MessageChange[], ops: BatchOp[] }> {
    const list = this.#index.get(conversation)
    const found = list?.filter((w) => w.target === target) ?? []
    if (list === undefined || found.length === 0) return { changes: [], ops: [] }
    this.#index.set(conversation, list.filter((w) => w.target !== target))
    const changes: MessageChange[] = []
    for (const { key } of found) {
      const value = await this.#db.get(key)
      const record = value === undefined ? undefined : decodeRecord(waitingChangeSchema, value, key, this.#logger)
      if (record !== undefined) changes.push(record.change)
    }
    return { changes, ops: found.map(({ key }) => ({ type: 'del', key })) }
  }
}
