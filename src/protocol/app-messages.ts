/**
 * App messages: what members say to each other, inside the encryption
 * (Berty's `AppMessage`, WESH.md §3, with its type numbers). User messages,
 * reactions, edits, deletions, button presses, acknowledgements and
 * invitations travel on the message log; user and group info on the metadata
 * log, so that later members see them too.
 *
 * A reaction reuses Berty's type 2 (UserReaction, which Berty's messenger
 * reserved when it dropped them). Edits, deletions and button presses are
 * ours, numbered from 100, well above Berty's types (up to 14), so that the
 * two never name different things with one number. A peer that does not know
 * a type drops its messages with a logged reason (`unknown-type`).
 */
import { z } from 'zod'
import { dagCbor, encodeCbor, validate } from './encoding.ts'
import { InvalidMessageError } from './errors.ts'
import { fileReferenceSchema, MAX_FILES_PER_MESSAGE } from './file-reference.ts'
import { uint } from './schemas.ts'

export const AppMessageType = {
  UserMessage: 1,
  UserReaction: 2,
  GroupInvitation: 3,
  SetGroupInfo: 4,
  SetUserInfo: 5,
  Acknowledge: 6,
  EditMessage: 100,
  DeleteMessage: 101,
  PressButton: 102
} as const

/** Longest text a user message may carry, in characters (Unicode code points, as every length here). */
export const MAX_TEXT_LENGTH = 32_000
/** Longest reaction: room for an emoji made of several joined ones (a family, a flag). */
export const MAX_EMOJI_LENGTH = 32
/** Rows of buttons a message may carry, and buttons a row. */
export const MAX_BUTTON_ROWS = 5
export const MAX_BUTTONS_PER_ROW = 4
/** Longest button label and payload. */
export const MAX_BUTTON_LABEL_LENGTH = 64
export const MAX_BUTTON_PAYLOAD_LENGTH = 128

/**
 * How a message's text is to be read: as it is, or as the Markdown subset
 * (bold, italic, code, code blocks, links) that clients render safely.
 */
export type MessageFormat = 'plain' | 'markdown'

/** A button under a message: what it shows, and what a press sends back. */
export interface Button {
  readonly label: string
  readonly payload: string
}
export type ButtonRows = ReadonlyArray<readonly Button[]>

const messageId = z.string().min(1).max(128)
// One line of visible text: no control characters, which a client would have to guess how to show.
const oneLine = (max: number, what: string): z.ZodString => z.string().min(1, `a ${what} cannot be empty`).max(max, `a ${what} is at most ${max} characters`)
  .regex(/^[^\p{Cc}]*$/u, `a ${what} has no control characters`)

export const emojiSchema = oneLine(MAX_EMOJI_LENGTH, 'reaction').regex(/^\S+$/u, 'a reaction has no spaces')
export const buttonSchema = z.object({ label: oneLine(MAX_BUTTON_LABEL_LENGTH, 'button label'), payload: oneLine(MAX_BUTTON_PAYLOAD_LENGTH, 'button payload') })
export const buttonRowsSchema = z.array(
  z.array(buttonSchema).min(1, 'a row of buttons has at least one').max(MAX_BUTTONS_PER_ROW, `a row has at most ${MAX_BUTTONS_PER_ROW} buttons`)
).max(MAX_BUTTON_ROWS, `a message has at most ${MAX_BUTTON_ROWS} rows of buttons`)
/** The flag on the wire: `'markdown'`, or absent for plain text; a format this version does not know is read as plain text too. */
const wireFormat = z.string().max(32).optional().transform((f): 'markdown' | undefined => f === 'markdown' ? 'markdown' : undefined)

const userMessage = z.object({
  type: z.literal(AppMessageType.UserMessage),
  text: z.string().max(MAX_TEXT_LENGTH),
  replyTo: messageId.optional(),
  format: wireFormat,
  buttons: buttonRowsSchema.optional(),
  sentAt: uint,
  /** Files sent with the text: what fetches and opens each (`file-reference.ts`). */
  files: z.array(fileReferenceSchema).min(1).max(MAX_FILES_PER_MESSAGE).optional()
})
/** Berty's UserReaction: an emoji on a message, or taken off it again (`remove`). */
const userReaction = z.object({
  type: z.literal(AppMessageType.UserReaction),
  target: messageId,
  emoji: emojiSchema,
  remove: z.boolean().optional(),
  sentAt: uint
})
const groupInvitation = z.object({
  type: z.literal(AppMessageType.GroupInvitation),
  invitation: z.string().max(4096),
  sentAt: uint
})
const setGroupInfo = z.object({
  type: z.literal(AppMessageType.SetGroupInfo),
  name: z.string().max(200),
  sentAt: uint
})
const setUserInfo = z.object({
  type: z.literal(AppMessageType.SetUserInfo),
  displayName: z.string().max(200),
  sentAt: uint
})
const acknowledge = z.object({
  type: z.literal(AppMessageType.Acknowledge),
  target: messageId,
  sentAt: uint
})
/** A new text (and format, and buttons) for one's own message `target`: it replaces the message's. */
const editMessage = z.object({
  type: z.literal(AppMessageType.EditMessage),
  target: messageId,
  text: z.string().max(MAX_TEXT_LENGTH),
  format: wireFormat,
  buttons: buttonRowsSchema.optional(),
  sentAt: uint
})
const deleteMessage = z.object({
  type: z.literal(AppMessageType.DeleteMessage),
  target: messageId,
  sentAt: uint
})
/** A button of message `target` was pressed: its payload comes back. */
const pressButton = z.object({
  type: z.literal(AppMessageType.PressButton),
  target: messageId,
  payload: buttonSchema.shape.payload,
  sentAt: uint
})

export const appMessageSchema = z.discriminatedUnion('type', [
  userMessage, userReaction, groupInvitation, setGroupInfo, setUserInfo, acknowledge, editMessage, deleteMessage, pressButton
])

export type AppMessage = z.infer<typeof appMessageSchema>
/** What encoding takes: the format as a sender writes it (left out when plain). */
export type AppMessageInput = z.input<typeof appMessageSchema>
export type UserMessage = z.infer<typeof userMessage>
export type UserReactionMessage = z.infer<typeof userReaction>
export type AckMessage = z.infer<typeof acknowledge>
export type GroupInvitationMessage = z.infer<typeof groupInvitation>
export type SetGroupInfoMessage = z.infer<typeof setGroupInfo>
export type SetUserInfoMessage = z.infer<typeof setUserInfo>
export type EditMessageMessage = z.infer<typeof editMessage>
export type DeleteMessageMessage = z.infer<typeof deleteMessage>
export type PressButtonMessage = z.infer<typeof pressButton>

export function encodeAppMessage (message: AppMessageInput): Uint8Array {
  // dag-cbor refuses `undefined`: drop absent optional fields.
  const clean = Object.fromEntries(Object.entries(message).filter(([, v]) => v !== undefined))
  return encodeCbor(clean)
}

/** Encodes an app message of ours, refusing (`InvalidMessageError`) one that receivers would drop. */
export function encodeOwnAppMessage (message: AppMessageInput): Uint8Array {
  const checked = appMessageSchema.safeParse(message)
  if (!checked.success) throw new InvalidMessageError(checked.error.issues[0]?.message ?? 'invalid message')
  return encodeAppMessage(message)
}

/** The roots of the files a message carries, to name outside the encryption. */
export function filesOf (message: AppMessageInput): string[] | undefined {
  return message.type === AppMessageType.UserMessage ? message.files?.map((file) => file.root) : undefined
}

export type AppMessageDecoding =
  | { ok: true, message: AppMessage }
  | { ok: false, reason: 'unknown-type' | 'malformed', detail: string }

const knownTypes: ReadonlySet<unknown> = new Set(Object.values(AppMessageType))

export function decodeAppMessage (bytes: Uint8Array): AppMessageDecoding {
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (err) {
    return { ok: false, reason: 'malformed', detail: `not CBOR: ${(err as Error).message}` }
  }
  if (typeof value === 'object' && value !== null && 'type' in value && !knownTypes.has(value.type)) {
    return { ok: false, reason: 'unknown-type', detail: `app message type ${String(value.type)}` }
  }
  let detail = ''
  const message = validate(value, appMessageSchema, (reason) => { detail = reason })
  return message === undefined ? { ok: false, reason: 'malformed', detail } : { ok: true, message }
}
