/**
 * How the bot store (`store.ts`) and its transactions (`transaction.ts`)
 * write: one kind of batch operation, values as JSON, outbox keys that sort
 * by position, and the records read back (an outbox item, a schedule's last
 * run, a sent message's tag, the buttons a sent message offers), each with
 * the schema it is checked against.
 */
import type { AbstractSublevel } from 'abstract-level'
import type { ClassicLevel } from 'classic-level'
import { z } from 'zod'
import { MAX_FILES_PER_MESSAGE, outgoingMessageSchema, type OutgoingMessage } from '../protocol/index.ts'

type Bytes = Uint8Array
export type Sublevel = AbstractSublevel<ClassicLevel<string, Bytes>, string | Buffer | Uint8Array, string, Bytes>
export type StoreOp = { type: 'put', sublevel: Sublevel, key: string, value: Bytes } | { type: 'del', sublevel: Sublevel, key: string }

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * What every outbox key (`OutboxItem.once`) starts with: at start the outbox
 * drops the group's records of its keys that no message in it has any more
 * (`Peer.forgetSentOnce`), which a crash left behind.
 */
export const OUTBOX_ONCE_PREFIX = 'outbox:'

/** A message waiting in the outbox. */
export interface OutboxItem {
  /** Position in the outbox; items leave in this order. */
  readonly seq: number
  /** The group to send to. */
  readonly group: string
  /** What to send: a text, a reaction, an edit... (`replyTo` of a text may still come from `replyToTag`). */
  readonly message: OutgoingMessage
  /** A name for the message: once sent, its id is recorded under it (`messageIdOf`, `tagOf`). */
  readonly tag?: string | undefined
  /** Answer the message sent with this tag (its id is looked up when this one is sealed). */
  readonly replyToTag?: string | undefined
  /**
   * A key of its own, unique for ever, under which the group records its id as it is sent
   * (`SendOnce`): a retry finds it there and is not a second message.
   */
  readonly once?: string | undefined
  /** Set once the message is sealed, by a bot older than `once`: from then on the same bytes are sent. */
  readonly sealed?: Uint8Array | undefined
  /** Files stored for the message to carry (`files.ts`). */
  readonly files?: OutboxFile[] | undefined
}

/** A file a queued message carries, as the outbox keeps it: its reference, bytes in base64. */
const outboxFileSchema = z.object({ root: z.string(), key: z.string(), size: z.number(), type: z.string(), name: z.string(), preview: z.string().optional() })
export type OutboxFile = z.infer<typeof outboxFileSchema>

const outboxItemFields = {
  group: z.string(),
  tag: z.string().optional(),
  replyToTag: z.string().optional(),
  once: z.string().min(1).max(64).optional(),
  sealed: z.string().optional(),
  files: z.array(outboxFileSchema).min(1).max(MAX_FILES_PER_MESSAGE).optional()
}

/** An outbox item as JSON keeps it (`sealed` and files' bytes in base64); format 1 wrote texts only, with `text` and `replyTo` beside the rest. */
export const outboxItemSchema = z.union([
  z.object({ ...outboxItemFields, message: outgoingMessageSchema }),
  z.object({ ...outboxItemFields, text: z.string(), replyTo: z.string().optional() })
    .transform(({ text, replyTo, ...rest }) => ({ ...rest, message: { text, ...(replyTo === undefined ? {} : { replyTo }) } }))
])

export const scheduleRunSchema = z.object({ lastRun: z.number() })
export const sentTagSchema = z.object({ id: z.string(), at: z.number() })
/** The payloads of the buttons a sent message offers, in which group, and when they were sent or last changed. */
export const offeredButtonsSchema = z.object({ group: z.string(), payloads: z.array(z.string()), at: z.number() })

export function json (value: unknown): Bytes {
  return encoder.encode(JSON.stringify(value))
}

export function parseJson (bytes: Bytes): unknown {
  return JSON.parse(decoder.decode(bytes))
}

/** An outbox item's key: its position, zero-padded so that keys sort as positions do. */
export const seqKey = (seq: number): string => seq.toString().padStart(16, '0')
