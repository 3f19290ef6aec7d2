/**
 * What a member sends, as the peer's API takes it: one type for every kind
 * of message (`OutgoingMessage`), which `group.send()`, `group.seal()` and
 * `group.sealMany()` take, and which a durable outbox keeps as it is (plain
 * data, checked with `outgoingMessageSchema` when it is read back). Each kind
 * becomes one app message on the wire (`app-messages.ts`).
 *
 * A text is the kind with no `kind` needed (`{ text: 'hi' }`); a field a text
 * may carry is declared once here, in its schema and in `toAppMessage`.
 */
import { z } from 'zod'
import {
  AppMessageType, buttonRowsSchema, buttonSchema, emojiSchema, MAX_TEXT_LENGTH,
  type AppMessageInput, type ButtonRows, type MessageFormat
} from './app-messages.ts'
import { describeIssues } from './encoding.ts'
import { InvalidMessageError } from './errors.ts'
import { fileReferenceSchema, MAX_FILES_PER_MESSAGE, type FileReference } from './file-reference.ts'

/** A text message, perhaps answering another, perhaps Markdown, perhaps with buttons under it. */
export interface TextMessage {
  /** A message with no `kind` is a text. */
  readonly kind?: 'text' | undefined
  readonly text: string
  /** Id of the message this one answers. */
  readonly replyTo?: string | undefined
  /** `'markdown'`: the text is the Markdown subset clients render (bold, italic, code, code blocks, links). Default `'plain'`. */
  readonly format?: MessageFormat | undefined
  /** Rows of buttons under the message; a press comes back as a `buttonPressed` event naming the payload. */
  readonly buttons?: ButtonRows | undefined
  /** Files stored with `peer.files.store()` to send with the text (at most 10). */
  readonly files?: readonly FileReference[] | undefined
}

/** An emoji put on a message (`remove: true` takes it off again). */
export interface ReactionMessage {
  readonly kind: 'reaction'
  /** Id of the message reacted to. */
  readonly target: string
  readonly emoji: string
  readonly remove?: boolean | undefined
}

/** A new text for one of our own messages: it replaces its text, format and buttons (none, if not given). */
export interface EditMessage {
  readonly kind: 'edit'
  /** Id of the message edited: one we sent. */
  readonly target: string
  readonly text: string
  readonly format?: MessageFormat | undefined
  readonly buttons?: ButtonRows | undefined
}

/** The deletion of one of our own messages. */
export interface DeletionMessage {
  readonly kind: 'deletion'
  /** Id of the message deleted: one we sent. */
  readonly target: string
}

/** A press of a button under a message: its payload goes back to the message's author. */
export interface ButtonPressMessage {
  readonly kind: 'buttonPress'
  /** Id of the message the button is under. */
  readonly target: string
  readonly payload: string
}

/** Anything a member sends to a group, told apart by `kind` (a text needs none). */
export type OutgoingMessage = TextMessage | ReactionMessage | EditMessage | DeletionMessage | ButtonPressMessage
export type OutgoingKind = NonNullable<OutgoingMessage['kind']>

const messageId = z.string().min(1, 'a message id cannot be empty').max(128, 'a message id is at most 128 characters')
const text = z.string({ error: 'a message needs a text' }).max(MAX_TEXT_LENGTH, { error: (issue) => `text is ${[...(issue.input as string)].length} characters long; the limit is ${MAX_TEXT_LENGTH}` })
const format = z.enum(['plain', 'markdown']).optional()

/** The schema of `OutgoingMessage`: what a caller gives is checked against it, and so is what an outbox reads back. */
export const outgoingMessageSchema: z.ZodType<OutgoingMessage> = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text').optional(), text, replyTo: messageId.optional(), format, buttons: buttonRowsSchema.optional(), files: z.array(fileReferenceSchema).max(MAX_FILES_PER_MESSAGE, `a message carries at most ${MAX_FILES_PER_MESSAGE} files`).optional() }),
  z.object({ kind: z.literal('reaction'), target: messageId, emoji: emojiSchema, remove: z.boolean().optional() }),
  z.object({ kind: z.literal('edit'), target: messageId, text, format, buttons: buttonRowsSchema.optional() }),
  z.object({ kind: z.literal('deletion'), target: messageId }),
  z.object({ kind: z.literal('buttonPress'), target: messageId, payload: buttonSchema.shape.payload })
], { error: (issue) => issue.code === 'invalid_union' ? 'kind is one of text, reaction, edit, deletion, buttonPress' : undefined })

/** Checks a message a caller gives; throws `InvalidMessageError` saying what is wrong. */
export function checkOutgoing (message: unknown): OutgoingMessage {
  const checked = outgoingMessageSchema.safeParse(message)
  if (!checked.success) throw new InvalidMessageError(describeIssues(checked.error))
  return checked.data
}

/** The app message a message of ours travels as, stamped `sentAt`. */
export function toAppMessage (message: OutgoingMessage, sentAt: number): AppMessageInput {
  switch (message.kind) {
    case undefined:
    case 'text':
      return { type: AppMessageType.UserMessage, text: message.text, replyTo: message.replyTo, ...richText(message), ...wireFiles(message.files), sentAt }
    case 'reaction':
      return { type: AppMessageType.UserReaction, target: message.target, emoji: message.emoji, remove: message.remove === true ? true : undefined, sentAt }
    case 'edit':
      return { type: AppMessageType.EditMessage, target: message.target, text: message.text, ...richText(message), sentAt }
    case 'deletion':
      return { type: AppMessageType.DeleteMessage, target: message.target, sentAt }
    case 'buttonPress':
      return { type: AppMessageType.PressButton, target: message.target, payload: message.payload, sentAt }
  }
}

/** A text's format and buttons as the wire has them: left out when plain, or when there are none. */
function richText (message: TextMessage | EditMessage): { format?: 'markdown', buttons?: Array<Array<{ label: string, payload: string }>> } {
  return {
    ...(message.format === 'markdown' ? { format: 'markdown' as const } : {}),
    ...(message.buttons === undefined || message.buttons.length === 0 ? {} : { buttons: message.buttons.map((row) => row.map(({ label, payload }) => ({ label, payload }))) })
  }
}

/** The files as the wire has them: none when empty, and no absent preview (CBOR has no `undefined`). */
function wireFiles (files: readonly FileReference[] | undefined): { files?: FileReference[] } {
  if (files === undefined || files.length === 0) return {}
  return { files: files.map(({ preview, ...fields }) => preview === undefined ? fields : { ...fields, preview }) }
}
