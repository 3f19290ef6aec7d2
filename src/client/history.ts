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
 * counters. A message of ours is seen when the other side acknowledged it or
 * a later one (`seenSeq`): one counter, not a write per message. Every value
 * is checked when read.
 */
import { z } from 'zod'
import { openPrivateLevel, type Logger, type PrivateLevel } from '../protocol/index.ts'

const FORMAT = 1
/** The most messages a page of history may have. */
export const MAX_PAGE = 500
/** Seqs are written as fixed-width hex so that keys sort as numbers do. */
const SEQ_WIDTH = 12

export const deliveryStates = ['sending', 'pending', 'sent', 'seen', 'failed'] as const
export type DeliveryState = typeof deliveryStates[number]

const commandSchema = z.object({ usage: z.string().max(500), description: z.string().max(1000) })
export type OfferedCommand = z.infer<typeof commandSchema>

const storedMessageSchema = z.object({
  seq: z.number().int().positive(),
  messageId: z.string().min(1).max(200).optional(),
  sender: z.object({ account: z.string().min(1).max(200), name: z.string().max(200), own: z.boolean() }),
  text: z.string().max(32_000),
  replyTo: z.string().min(1).max(200).optional(),
  invitation: z.object({ link: z.string().max(4096), groupName: z.string().max(200) }).optional(),
  sentAt: z.number().int().nonnegative(),
  state: z.enum(deliveryStates).optional(),
  /** The sealed message, base64, while it is not known to be in our log. */
  sealed: z.string().optional(),
  /** Its position in the group's log once sent (`group.positionOf`), to tell when a peer has it. */
  position: z.number().int().nonnegative().optional()
})
export type StoredMessage = z.infer<typeof storedMessageSchema>
export type NewMessage = Omit<StoredMessage, 'seq'>

const countersSchema = z.object({
  lastSeq: z.number().int().nonnegative(),
  unread: z.number().int().nonnegative(),
  /** The last message from others that we acknowledged, by seq. */
  acknowledgedSeq: z.number().int().nonnegative(),
  /** The last message from others, by seq. */
  receivedSeq: z.number().int().nonnegative().default(0),
  /** Our messages up to this seq were seen by the other side. */
  seenSeq: z.number().int().nonnegative().default(0),
  /** Commands the other side offers, from its last `/help`-style answer. */
  commands: z.array(commandSchema).max(200).default([])
})
type Counters = z.infer<typeof countersSchema>

const emptyCounters = (): Counters => ({ lastSeq: 0, unread: 0, acknowledgedSeq: 0, receivedSeq: 0, seenSeq: 0, commands: [] })
/** Our messages in these states are waiting to reach a peer. */
const unsentStates: ReadonlySet<DeliveryState | undefined> = new Set(['sending', 'pending'])

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const seqKey = (seq: number): string => seq.toString(16).padStart(SEQ_WIDTH, '0')

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

  private constructor (db: PrivateLevel, logger: Logger) {
    this.#db = db
    this.#logger = logger
  }

  static async open (dir: string, logger: Logger): Promise<HistoryStore> {
    const db = await openPrivateLevel(dir, { what: 'the chat history', format: FORMAT })
    const store = new HistoryStore(db, logger)
    for await (const [key, value] of db.iterator({ gt: 'c!', lt: 'c"' })) {
      const counters = store.#decode(countersSchema, value, key)
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

  /** Writes a message at the end of the conversation; one from someone else counts as unread. */
  async append (conversation: string, message: NewMessage): Promise<StoredMessage> {
    const counters = { ...this.#counters.get(conversation) ?? emptyCounters() }
    const stored: StoredMessage = { ...message, seq: counters.lastSeq + 1 }
    counters.lastSeq = stored.seq
    if (!message.sender.own) {
      counters.unread += 1
      counters.receivedSeq = stored.seq
    }
    // Seqs are taken in memory, so two appends in a row never share one.
    this.#counters.set(conversation, counters)
    const batch = this.#db.batch()
      .put(`m!${conversation}!${seqKey(stored.seq)}`, encode(stored))
      .put(`c!${conversation}`, encode(counters))
    if (stored.messageId !== undefined) batch.put(`i!${conversation}!${stored.messageId}`, encode(stored.seq))
    if (stored.sender.own && unsentStates.has(stored.state)) batch.put(`p!${conversation}!${seqKey(stored.seq)}`, encode(stored.seq))
    await batch.write()
    return stored
  }

  /** Changes a message (its id once sent, its state); returns it as it is now. */
  async update (conversation: string, seq: number, change: Partial<Omit<StoredMessage, 'seq'>>): Promise<StoredMessage | undefined> {
    const current = await this.bySeq(conversation, seq)
    if (current === undefined) return undefined
    const next: StoredMessage = { ...current, ...change }
    for (const [field, value] of Object.entries(change)) if (value === undefined) delete next[field as keyof StoredMessage]
    const batch = this.#db.batch().put(`m!${conversation}!${seqKey(seq)}`, encode(next))
    if (next.messageId !== undefined && current.messageId === undefined) batch.put(`i!${conversation}!${next.messageId}`, encode(seq))
    if (!unsentStates.has(next.state)) batch.del(`p!${conversation}!${seqKey(seq)}`)
    await batch.write()
    return this.#withSeen(conversation, next)
  }

  async bySeq (conversation: string, seq: number): Promise<StoredMessage | undefined> {
    const value = await this.#db.get(`m!${conversation}!${seqKey(seq)}`)
    const message = value === undefined ? undefined : this.#decode(storedMessageSchema, value, `message ${seq} of ${conversation}`)
    return message === undefined ? undefined : this.#withSeen(conversation, message)
  }

  async seqOf (conversation: string, messageId: string): Promise<number | undefined> {
    const value = await this.#db.get(`i!${conversation}!${messageId}`)
    return value === undefined ? undefined : this.#decode(z.number().int().positive(), value, `index of ${messageId}`)
  }

  async byMessageId (conversation: string, messageId: string): Promise<StoredMessage | undefined> {
    const seq = await this.seqOf(conversation, messageId)
    return seq === undefined ? undefined : await this.bySeq(conversation, seq)
  }

  /** Up to `limit` messages before `before` (or the newest), oldest first. */
  async page (conversation: string, options: { before?: number | undefined, limit: number }): Promise<HistoryPage> {
    const prefix = `m!${conversation}!`
    const upper = options.before === undefined ? `${prefix}~` : `${prefix}${seqKey(options.before)}`
    const messages: StoredMessage[] = []
    let more = false
    for await (const [key, value] of this.#db.iterator({ gte: prefix, lt: upper, reverse: true, limit: options.limit + 1 })) {
      if (messages.length === options.limit) {
        more = true
        break
      }
      const message = this.#decode(storedMessageSchema, value, key)
      if (message !== undefined) messages.push(this.#withSeen(conversation, message))
    }
    return { messages: messages.reverse(), more }
  }

  async last (conversation: string): Promise<StoredMessage | undefined> {
    return (await this.page(conversation, { limit: 1 })).messages[0]
  }

  /** Our messages not handed to a peer yet (sending or pending), oldest first. */
  async unsent (conversation: string): Promise<StoredMessage[]> {
    const prefix = `p!${conversation}!`
    const found: StoredMessage[] = []
    for await (const value of this.#db.values({ gte: prefix, lt: `${prefix}~` })) {
      const seq = this.#decode(z.number().int().positive(), value, prefix)
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
    await this.#db.put(`c!${conversation}`, encode(counters))
  }

  #withSeen (conversation: string, message: StoredMessage): StoredMessage {
    return message.sender.own && message.state === 'sent' && message.seq <= this.seenSeq(conversation) ? { ...message, state: 'seen' } : message
  }

  /** A value that does not parse (a damaged or foreign record) is logged and skipped, never thrown. */
  #decode<T>(schema: z.ZodType<T>, value: Uint8Array, what: string): T | undefined {
    let json: unknown
    try {
      json = JSON.parse(decoder.decode(value))
    } catch {
      json = undefined
    }
    const parsed = schema.safeParse(json)
    if (parsed.success) return parsed.data
    this.#logger.warn({ record: what }, 'skipped a damaged record in the chat history')
    return undefined
  }
}

function encode (value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}
