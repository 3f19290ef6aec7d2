/**
 * A client's history of its conversations, on disk: every message shown to
 * the person or written by them, per conversation, numbered in the order it
 * was written or arrived (`seq`), so a page of it is one range read. The
 * peer's logs hold messages too, but encrypted, in the log's order and with
 * no notion of what was read; this is what a chat screen shows, kept across
 * restarts. Our own messages carry their delivery state, and while unsent
 * the sealed bytes, so a crash loses none.
 *
 * Layout (one LevelDB): `m!<conversation>!<seq>` the message,
 * `i!<conversation>!<message id>` its seq, `p!<conversation>!<seq>` our
 * messages not handed to any peer yet, `c!<conversation>` the conversation's
 * counters, `w!<conversation>!<n>` changes waiting for their message
 * (`waiting-changes.ts`), `a!<conversation>!<n>` our actions on their way
 * (`pending-actions.ts`), `b!<account>` the accounts blocked
 * (`blocked-accounts.ts`). A message keeps what was done to it: reactions, the
 * latest edit, its deletion (`message-changes.ts`). A message of ours is seen
 * when the other side acknowledged it or a later one (`seenSeq`): one
 * counter, not a write per message. Every value is checked when read
 * (`history-records.ts`).
 */
import { z } from 'zod'
import { openPrivateLevel, type Logger, type OutgoingMessage, type PrivateLevel } from '../protocol/index.ts'
import {
  countersSchema, decodeRecord, encodeRecord, seqKey, storedMessageSchema,
  type Counters, type DeliveryState, type MessageChange, type NewMessage, type OfferedCommand, type StoredMessage
} from './history-records.ts'
import { BlockedAccounts } from './blocked-accounts.ts'
import { applyChange } from './message-changes.ts'
import { PendingActions, type StoredAction } from './pending-actions.ts'
import { WaitingChanges, type BatchOp } from './waiting-changes.ts'

/** 2: messages carry formats, buttons, files, reactions, edits and deletions, and changes wait for their messages. */
const FORMAT = 2
/** The most messages a page of history may have. */
export const MAX_PAGE = 500

export { deliveryStates, type DeliveryState, type NewMessage, type OfferedCommand, type StoredMessage } from './history-records.ts'

const emptyCounters = (): Counters => ({ lastSeq: 0, unread: 0, acknowledgedSeq: 0, receivedSeq: 0, seenSeq: 0, commands: [] })
/** Our messages in these states are waiting to reach a peer. */
const unsentStates: ReadonlySet<DeliveryState | undefined> = new Set(['sending', 'pending'])
const messageKey = (conversation: string, seq: number): string => `m!${conversation}!${seqKey(seq)}`

/** What `applyTo` did with a change: applied to the message, kept until the message comes, or not applied (and why). */
export type Applied = { outcome: 'changed', message: StoredMessage } | { outcome: 'waiting' } | { outcome: 'unchanged', why: string }

export interface HistoryPage {
  /** Oldest first. */
  messages: StoredMessage[]
  /** Whether older messages exist before the first one. */
  more: boolean
}

export class HistoryStore {
  readonly #db: PrivateLevel
  readonly #logger: Logger
  readonly #counters = new Map<string, Counters>()
  readonly #waiting: WaitingChanges
  /** Reads that iterate, running now. */
  readonly #iterating = new Set<Promise<unknown>>()
  /** Erasures under way: an iterator opened meanwhile would keep the file of the old versions on disk, so reads wait. */
  readonly #erasures = new Set<Promise<void>>()
  /** Our reactions, edits, deletions and presses not sent yet. */
  readonly actions: PendingActions
  /** The accounts the person blocked. */
  readonly blocked: BlockedAccounts

  private constructor (db: PrivateLevel, logger: Logger, waiting: WaitingChanges, actions: PendingActions, blocked: BlockedAccounts) {
    this.#db = db
    this.#logger = logger
    this.#waiting = waiting
    this.actions = actions
    this.blocked = blocked
  }

  static async open (dir: string, logger: Logger): Promise<HistoryStore> {
    const db = await openPrivateLevel(dir, { what: 'the chat history', format: FORMAT })
    const store = new HistoryStore(db, logger, await WaitingChanges.load(db, logger), await PendingActions.load(db, logger), await BlockedAccounts.load(db, logger))
    for await (const [key, value] of db.iterator({ gt: 'c!', lt: 'c"' })) {
      const counters = decodeRecord(countersSchema, value, key, logger)
      if (counters !== undefined) store.#counters.set(key.slice(2), counters)
    }
    return store
  }

  async close (): Promise<void> {
    await this.#db.close()
  }

  /** Conversations that have a history. */
  conversations (): string[] {
    return [...this.#counters.keys()]
  }

  unread (conversation: string): number {
    return this.#counters.get(conversation)?.unread ?? 0
  }

  commands (conversation: string): OfferedCommand[] {
    return this.#counters.get(conversation)?.commands ?? []
  }

  /**
   * Writes a message at the end of the conversation; one from someone else
   * counts as unread. The changes that waited for it are applied in the same write.
   */
  async append (conversation: string, message: NewMessage): Promise<StoredMessage> {
    const counters = { ...this.#counters.get(conversation) ?? emptyCounters() }
    const seq = counters.lastSeq + 1
    const { message: stored, ops } = await this.#withWaiting(conversation, { ...message, seq })
    counters.lastSeq = stored.seq
    if (!message.sender.own) {
      counters.unread += 1
      counters.receivedSeq = stored.seq
    }
    // Seqs are taken in memory, so two appends in a row never share one.
    this.#counters.set(conversation, counters)
    const batch = this.#batch(ops)
      .put(messageKey(conversation, seq), encodeRecord(stored))
      .put(`c!${conversation}`, encodeRecord(counters))
    if (stored.messageId !== undefined) batch.put(`i!${conversation}!${stored.messageId}`, encodeRecord(stored.seq))
    if (stored.sender.own && unsentStates.has(stored.state)) batch.put(`p!${conversation}!${seqKey(stored.seq)}`, encodeRecord(stored.seq))
    // A deletion that waited erases the texts of the edits that waited with it.
    await this.#erasing(stored.deletedAt === undefined ? [] : ops.map((op) => op.key), batch)
    return stored
  }

  /** Changes a message (its id once sent, its state); returns it as it is now. An id given applies the changes that waited for it. */
  async update (conversation: string, seq: number, change: Partial<Omit<StoredMessage, 'seq'>>): Promise<StoredMessage | undefined> {
    const current = await this.bySeq(conversation, seq)
    if (current === undefined) return undefined
    let next: StoredMessage = { ...current, ...change }
    for (const [field, value] of Object.entries(change)) if (value === undefined) delete next[field as keyof StoredMessage]
    const newId = next.messageId !== undefined && current.messageId === undefined
    let ops: BatchOp[] = []
    if (newId) ({ message: next, ops } = await this.#withWaiting(conversation, next))
    const batch = this.#batch(ops).put(messageKey(conversation, seq), encodeRecord(next))
    if (newId) batch.put(`i!${conversation}!${next.messageId as string}`, encodeRecord(seq))
    if (!unsentStates.has(next.state)) batch.del(`p!${conversation}!${seqKey(seq)}`)
    await batch.write()
    return this.#withSeen(conversation, next)
  }

  /**
   * Applies a reaction, edit or deletion to message `target`; one whose
   * message is not here yet waits for it. `action`: ours, recorded in the
   * same write, to send (`pending-actions.ts`). A deletion erases the text
   * from the disk, not only from the record.
   */
  async applyTo (conversation: string, target: string, change: MessageChange, action?: OutgoingMessage): Promise<Applied & { action?: StoredAction }> {
    const recorded = action === undefined ? undefined : this.actions.add(conversation, action)
    const ops = recorded === undefined ? [] : [recorded.op]
    const current = await this.byMessageId(conversation, target)
    if (current === undefined) {
      await this.#batch([...ops, ...this.#waiting.add(conversation, target, change)]).write()
      return { outcome: 'waiting', action: recorded?.action }
    }
    const applied = applyChange(current, change)
    if (!applied.changed) {
      if (ops.length > 0) await this.#batch(ops).write()
      return { outcome: 'unchanged', why: applied.why, action: recorded?.action }
    }
    const key = messageKey(conversation, current.seq)
    await this.#erasing(change.kind === 'deletion' ? [key] : [], this.#batch([...ops, { type: 'put', key, value: encodeRecord(applied.message) }]))
    return { outcome: 'changed', message: this.#withSeen(conversation, applied.message), action: recorded?.action }
  }

  /** Records the person's press of `payload` under message `seq`, with the action that sends it. */
  async pressed (conversation: string, seq: number, payload: string, action: OutgoingMessage): Promise<{ message: StoredMessage, action: StoredAction } | undefined> {
    const current = await this.bySeq(conversation, seq)
    if (current === undefined) return undefined
    const message: StoredMessage = { ...current, pressed: [...new Set([...current.pressed ?? [], payload])] }
    const recorded = this.actions.add(conversation, action)
    await this.#batch([recorded.op, { type: 'put', key: messageKey(conversation, seq), value: encodeRecord(message) }]).write()
    return { message, action: recorded.action }
  }

  /** `message` with the changes that waited for its id applied, and the writes that take them out of waiting. */
  async #withWaiting (conversation: string, message: StoredMessage): Promise<{ message: StoredMessage, ops: BatchOp[] }> {
    if (message.messageId === undefined) return { message, ops: [] }
    const { changes, ops } = await this.#waiting.take(conversation, message.messageId)
    let next = message
    for (const change of changes) {
      const applied = applyChange(next, change)
      if (applied.changed) next = applied.message
    }
    return { message: next, ops }
  }

  /** A batch started with `ops`, to add to and write. */
  #batch (ops: BatchOp[]): ReturnType<PrivateLevel['batch']> {
    const batch = this.#db.batch()
    for (const op of ops) {
      if (op.type === 'put') batch.put(op.key, op.value)
      else batch.del(op.key)
    }
    return batch
  }

  /**
   * Writes `batch`, which overwrites or deletes `keys`, so that their old
   * versions leave the disk: LevelDB keeps them in its files until a
   * compaction merges them with the new ones, and a compaction of a range
   * rewrites only the files above the deepest level that holds it. So the
   * old versions are flushed to a file first, and the new ones after, into
   * a file above it, which the second compaction merges into the first.
   */
  async #erasing (keys: string[], batch: ReturnType<PrivateLevel['batch']>): Promise<void> {
    if (keys.length === 0) return await batch.write()
    const erasure = this.#erase(keys, batch)
    this.#erasures.add(erasure)
    try {
      await erasure
    } finally {
      this.#erasures.delete(erasure)
    }
  }

  async #erase (keys: string[], batch: ReturnType<PrivateLevel['batch']>): Promise<void> {
    const sorted = [...keys].sort()
    const [first, last] = [sorted[0] as string, sorted[sorted.length - 1] as string]
    await this.#db.compactRange(first, last)
    await batch.write()
    // An iterator open from before the write holds a snapshot, which keeps the old versions through a compaction.
    await Promise.allSettled([...this.#iterating])
    await this.#db.compactRange(first, last)
  }

  /** Runs a read that iterates, noted so that an erasure waits for it. */
  async #reading<T> (read: () => Promise<T>): Promise<T> {
    while (this.#erasures.size > 0) await Promise.allSettled([...this.#erasures])
    const running = read()
    this.#iterating.add(running)
    try {
      return await running
    } finally {
      this.#iterating.delete(running)
    }
  }

  async bySeq (conversation: string, seq: number): Promise<StoredMessage | undefined> {
    const value = await this.#db.get(`m!${conversation}!${seqKey(seq)}`)
    const message = value === undefined ? undefined : decodeRecord(storedMessageSchema, value, `message ${seq} of ${conversation}`, this.#logger)
    return message === undefined ? undefined : this.#withSeen(conversation, message)
  }

  async seqOf (conversation: string, messageId: string): Promise<number | undefined> {
    const value = await this.#db.get(`i!${conversation}!${messageId}`)
    return value === undefined ? undefined : decodeRecord(z.number().int().positive(), value, `index of ${messageId}`, this.#logger)
  }

  async byMessageId (conversation: string, messageId: string): Promise<StoredMessage | undefined> {
    const seq = await this.seqOf(conversation, messageId)
    return seq === undefined ? undefined : await this.bySeq(conversation, seq)
  }

  /** Up to `limit` messages before `before` (or the newest), oldest first. */
  async page (conversation: string, options: { before?: number | undefined, limit: number }): Promise<HistoryPage> {
    return await this.#reading(async () => await this.#page(conversation, options))
  }

  async #page (conversation: string, options: { before?: number | undefined, limit: number }): Promise<HistoryPage> {
    const prefix = `m!${conversation}!`
    const upper = options.before === undefined ? `${prefix}~` : `${prefix}${seqKey(options.before)}`
    const messages: StoredMessage[] = []
    let more = false
    for await (const [key, value] of this.#db.iterator({ gte: prefix, lt: upper, reverse: true, limit: options.limit + 1 })) {
      if (messages.length === options.limit) {
        more = true
        break
      }
      const message = decodeRecord(storedMessageSchema, value, key, this.#logger)
      if (message !== undefined) messages.push(this.#withSeen(conversation, message))
    }
    return { messages: messages.reverse(), more }
  }

  async last (conversation: string): Promise<StoredMessage | undefined> {
    return (await this.page(conversation, { limit: 1 })).messages[0]
  }

  /** Our messages not handed to a peer yet (sending or pending), oldest first. */
  async unsent (conversation: string): Promise<StoredMessage[]> {
    return await this.#reading(async () => await this.#unsent(conversation))
  }

  async #unsent (conversation: string): Promise<StoredMessage[]> {
    const prefix = `p!${conversation}!`
    const found: StoredMessage[] = []
    for await (const value of this.#db.values({ gte: prefix, lt: `${prefix}~` })) {
      const seq = decodeRecord(z.number().int().positive(), value, prefix, this.#logger)
      const message = seq === undefined ? undefined : await this.bySeq(conversation, seq)
      if (message !== undefined) found.push(message)
    }
    return found
  }

  async markRead (conversation: string): Promise<void> {
    await this.#setCounters(conversation, { unread: 0 })
  }

  async setAcknowledged (conversation: string, seq: number): Promise<void> {
    await this.#setCounters(conversation, { acknowledgedSeq: seq })
  }

  acknowledgedSeq (conversation: string): number {
    return this.#counters.get(conversation)?.acknowledgedSeq ?? 0
  }

  /** The seq of the last message from others. */
  receivedSeq (conversation: string): number {
    return this.#counters.get(conversation)?.receivedSeq ?? 0
  }

  seenSeq (conversation: string): number {
    return this.#counters.get(conversation)?.seenSeq ?? 0
  }

  /** The other side saw our messages up to `seq`; returns the seq it was before (it only moves forward). */
  async setSeen (conversation: string, seq: number): Promise<number> {
    const before = this.seenSeq(conversation)
    if (seq > before) await this.#setCounters(conversation, { seenSeq: seq })
    return before
  }

  async setCommands (conversation: string, commands: OfferedCommand[]): Promise<void> {
    await this.#setCounters(conversation, { commands })
  }

  async #setCounters (conversation: string, change: Partial<Counters>): Promise<void> {
    const counters = { ...this.#counters.get(conversation) ?? emptyCounters(), ...change }
    this.#counters.set(conversation, counters)
    await this.#db.put(`c!${conversation}`, encodeRecord(counters))
  }

  #withSeen (conversation: string, message: StoredMessage): StoredMessage {
    return message.sender.own && message.state === 'sent' && message.seq <= this.seenSeq(conversation) ? { ...message, state: 'seen' } : message
  }
}
