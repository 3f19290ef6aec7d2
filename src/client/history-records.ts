/**
 * What the client's history keeps, as zod schemas: a message (with its
 * format, buttons, files, reactions, and whether it was edited or deleted),
 * a conversation's counters, a change that waits for its message, and an
 * action of ours on its way. Every record is checked when read; one that does
 * not parse is logged and skipped, never thrown.
 */
import { z } from 'zod'
import {
  MAX_BUTTON_LABEL_LENGTH, MAX_BUTTON_PAYLOAD_LENGTH, MAX_BUTTON_ROWS, MAX_BUTTONS_PER_ROW, MAX_EMOJI_LENGTH, MAX_FILES_PER_MESSAGE,
  MAX_TEXT_LENGTH, outgoingMessageSchema, type Logger
} from '../protocol/index.ts'

export const deliveryStates = ['sending', 'pending', 'sent', 'seen', 'failed'] as const
export type DeliveryState = typeof deliveryStates[number]

/** The most reactions one message keeps (each a person and an emoji); past it, new ones are dropped with a log line. */
export const MAX_REACTIONS = 500

const account = z.string().min(1).max(200)
const name = z.string().max(200)
const messageId = z.string().min(1).max(200)
const emoji = z.string().min(1).max(MAX_EMOJI_LENGTH * 4)

const commandSchema = z.object({ usage: z.string().max(500), description: z.string().max(1000) })
export type OfferedCommand = z.infer<typeof commandSchema>

export const buttonRowsSchema = z.array(z.array(z.object({
  label: z.string().min(1).max(MAX_BUTTON_LABEL_LENGTH * 4),
  payload: z.string().min(1).max(MAX_BUTTON_PAYLOAD_LENGTH * 4)
})).min(1).max(MAX_BUTTONS_PER_ROW)).max(MAX_BUTTON_ROWS)
export type StoredButtons = z.infer<typeof buttonRowsSchema>

/** A file a message carries, as a reference (what opens it), never its bytes; key and preview in base64. */
export const storedFileSchema = z.object({
  root: z.string().min(1).max(128),
  key: z.string().max(64),
  size: z.number().int().nonnegative(),
  type: z.string().min(1).max(255),
  name: z.string().min(1).max(255),
  preview: z.string().max(32 * 1024).optional()
})
export type StoredFile = z.infer<typeof storedFileSchema>

/** Someone put `emoji` on the message (a removal takes the pair out). */
export const reactionSchema = z.object({ account, name, emoji })
export type StoredReaction = z.infer<typeof reactionSchema>

export const storedMessageSchema = z.object({
  seq: z.number().int().positive(),
  messageId: messageId.optional(),
  sender: z.object({ account, name, own: z.boolean() }),
  text: z.string().max(MAX_TEXT_LENGTH * 2),
  replyTo: messageId.optional(),
  invitation: z.object({ link: z.string().max(4096), groupName: name }).optional(),
  sentAt: z.number().int().nonnegative(),
  state: z.enum(deliveryStates).optional(),
  /** The sealed message, base64, while it is not known to be in our log. */
  sealed: z.string().optional(),
  /** Its position in the group's log once sent (`group.positionOf`), to tell when a peer has it. */
  position: z.number().int().nonnegative().optional(),
  /** Present only for the Markdown subset: no flag is plain text. */
  format: z.literal('markdown').optional(),
  buttons: buttonRowsSchema.optional(),
  /** The payloads of its buttons the person pressed. */
  pressed: z.array(z.string().max(MAX_BUTTON_PAYLOAD_LENGTH * 4)).max(MAX_BUTTON_ROWS * MAX_BUTTONS_PER_ROW).optional(),
  files: z.array(storedFileSchema).max(MAX_FILES_PER_MESSAGE).optional(),
  /** Ours: its files are stored and not yet kept (a crash now loses them, and the message fails at the next start). */
  staging: z.literal(true).optional(),
  reactions: z.array(reactionSchema).max(MAX_REACTIONS).optional(),
  /** When its author last edited it (the text, format and buttons are the edit's). */
  editedAt: z.number().int().nonnegative().optional(),
  /** When its author (or an admin of the group) deleted it: its text, files, buttons and reactions are gone. */
  deletedAt: z.number().int().nonnegative().optional(),
  /** It was an admin of the group who deleted it, not its author. */
  deletedByAdmin: z.literal(true).optional()
})
export type StoredMessage = z.infer<typeof storedMessageSchema>
export type NewMessage = Omit<StoredMessage, 'seq'>

export const countersSchema = z.object({
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
export type Counters = z.infer<typeof countersSchema>

/** What someone did to a message: each kind is applied by `message-changes.ts`. */
export const messageChangeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('reaction'), account, name, emoji, removed: z.boolean() }),
  z.object({ kind: z.literal('edit'), text: z.string().max(MAX_TEXT_LENGTH * 2), format: z.literal('markdown').optional(), buttons: buttonRowsSchema.optional(), at: z.number().int().nonnegative() }),
  z.object({ kind: z.literal('deletion'), at: z.number().int().nonnegative(), byAdmin: z.literal(true).optional() })
])
export type MessageChange = z.infer<typeof messageChangeSchema>

/** A change whose message is not in the history yet (it came out of order): applied when the message comes. */
export const waitingChangeSchema = z.object({ target: messageId, change: messageChangeSchema })
export type WaitingChange = z.infer<typeof waitingChangeSchema>

/** A reaction, edit, deletion or press of ours, recorded with its effect on the history and sent from the record (sealed once). */
export const pendingActionSchema = z.object({ message: outgoingMessageSchema, sealed: z.string().optional() })
export type PendingAction = z.infer<typeof pendingActionSchema>

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function encodeRecord (value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

/** A value that does not parse (a damaged or foreign record) is logged and skipped, never thrown. */
export function decodeRecord<T> (schema: z.ZodType<T>, value: Uint8Array, what: string, logger: Logger): T | undefined {
  let json: unknown
  try {
    json = JSON.parse(decoder.decode(value))
  } catch {
    json = undefined
  }
  const parsed = schema.safeParse(json)
  if (parsed.success) return parsed.data
  logger.warn({ record: what }, 'skipped a damaged record in the chat history')
  return undefined
}

/** Seqs are written as fixed-width hex so that keys sort as numbers do. */
const SEQ_WIDTH = 12
export const seqKey = (seq: number): string => seq.toString(16).padStart(SEQ_WIDTH, '0')
