/**
 * The web client's only view of the peer: messages over one WebSocket,
 * declared here once and checked with zod on both sides (the server checks
 * what the page sends, the page checks what the server sends). Nothing here
 * knows about Node or the DOM, so a later page could run the peer itself
 * behind the same messages.
 *
 * The page sends requests `{ id, method, params }`; the server answers each
 * with `{ id, result }` or `{ id, error }`, and pushes events `{ event, data }`
 * as things happen (a message arrives, a message is seen, a request comes).
 *
 * Files do not go through the socket: the page uploads one with a POST to
 * `/files/<conversation>` (multipart: `size`, then `preview`, then `file`),
 * answered with `uploadResult`, and reads one at
 * `/files/<conversation>/<seq>/<index>` (and `…/preview`), on the page's own
 * origin, behind the same checks as the rest (`file-routes.ts`).
 */
import { z } from 'zod'

/** Longest text a message may carry (the protocol's limit). */
export const MAX_TEXT = 32_000
/** The most an image's preview may weigh (the protocol's limit): a thumbnail the page makes before it uploads. */
export const MAX_PREVIEW = 16 * 1024
const text = z.string().max(MAX_TEXT)
const id = z.string().min(1).max(200)
const name = z.string().max(200)
/** Contact links and invitations are a few hundred characters; this bounds what a page can make the server parse. */
const link = z.string().min(1).max(4096)

/** Where a message of ours is: written down, in our log, handed to a peer of the conversation, read by the other side. */
export const deliveryState = z.enum(['sending', 'pending', 'sent', 'seen', 'failed'])
export type DeliveryState = z.infer<typeof deliveryState>

const emoji = z.string().min(1).max(128)
const payload = z.string().min(1).max(512)
/** Rows of buttons under a message: what each shows, and what pressing it sends back. */
const buttons = z.array(z.array(z.object({ label: z.string().min(1).max(256), payload })).min(1).max(4)).max(5)

/** A file a message carries: `index` names it in the file routes (`/files/<conversation>/<seq>/<index>`). */
export const messageFile = z.object({
  index: z.number().int().nonnegative().max(9),
  name: z.string().min(1).max(255),
  type: z.string().min(1).max(255),
  size: z.number().int().nonnegative(),
  /** Its sender gave a preview (images): `…/<index>/preview`. */
  preview: z.boolean()
})
export type MessageFile = z.infer<typeof messageFile>

/** One emoji on a message: how many put it, whether we did, and who (`You` for us). */
export const messageReaction = z.object({ emoji, count: z.number().int().positive(), own: z.boolean(), names: z.array(name).max(500) })
export type MessageReaction = z.infer<typeof messageReaction>

export const historyMessage = z.object({
  conversation: id,
  /** Position in this conversation's history on this device: 1, 2, 3… in the order it was written or arrived. */
  seq: z.number().int().positive(),
  /** The protocol's message id; absent while ours is still being sent. */
  messageId: id.optional(),
  sender: z.object({ account: id, name, own: z.boolean() }),
  text,
  /** What it answers: the message id, and what the history knows of that message. */
  replyTo: z.object({ messageId: id, sender: name.optional(), text: text.optional(), deleted: z.boolean().optional() }).optional(),
  /** A group invitation carried by this message, to join with one click. */
  invitation: z.object({ link, groupName: name }).optional(),
  /** Milliseconds since 1970: when the sender says it sent it. */
  sentAt: z.number().int().nonnegative(),
  /** Only for our own messages. */
  state: deliveryState.optional(),
  /** `markdown`: the text is the Markdown subset (bold, italic, code, code blocks, links), rendered without any HTML. */
  format: z.enum(['plain', 'markdown']),
  buttons,
  /** The payloads of its buttons we pressed. */
  pressed: z.array(payload).max(20),
  files: z.array(messageFile).max(10),
  reactions: z.array(messageReaction).max(500),
  edited: z.boolean(),
  /** Its author (or an admin of the group) deleted it: its text is empty, and nothing of it is left. */
  deleted: z.boolean(),
  /** An admin of the group deleted it, not its author. */
  deletedByAdmin: z.boolean()
})
export type HistoryMessage = z.infer<typeof historyMessage>

export const conversationSummary = z.object({
  id,
  kind: z.enum(['contact', 'group']),
  name,
  unread: z.number().int().nonnegative(),
  last: historyMessage.optional(),
  members: z.number().int().nonnegative(),
  /** We are an admin of this group: we may delete anyone's message there. */
  admin: z.boolean(),
  /** Commands the other side offers (a bot's), for completion after `/`. */
  commands: z.array(z.object({ usage: z.string().max(500), description: z.string().max(1000) })).max(200)
})
export type ConversationSummary = z.infer<typeof conversationSummary>

export const contactRequest = z.object({ account: id, name, message: z.string().max(2000).optional(), receivedAt: z.number().int().nonnegative() })
export type ContactRequest = z.infer<typeof contactRequest>

/** An account the person blocked: nothing it sends is shown. `since`: milliseconds since 1970. */
export const blockedAccount = z.object({ account: id, name, since: z.number().int().nonnegative() })
export type BlockedAccount = z.infer<typeof blockedAccount>
const blockedList = z.object({ blocked: z.array(blockedAccount).max(100_000) })

export const self = z.object({ account: id, name, link, qrSvg: z.string().max(200_000) })
export type Self = z.infer<typeof self>

/** The methods the page may call: their parameters and results. */
export const methods = {
  /** Everything the page shows first. */
  hello: { params: z.object({}), result: z.object({ self, conversations: z.array(conversationSummary), requests: z.array(contactRequest), limits: z.object({ maxFileSize: z.number().int().positive() }) }) },
  /** A page of a conversation's history, newest last; `before` pages back from a seq. */
  history: {
    params: z.object({ conversation: id, before: z.number().int().positive().optional(), limit: z.number().int().min(1).max(500).default(50) }),
    result: z.object({ messages: z.array(historyMessage), more: z.boolean() })
  },
  send: { params: z.object({ conversation: id, text: text.min(1), replyTo: id.optional() }), result: z.object({ message: historyMessage }) },
  /** Puts an emoji on message `seq`, or takes ours off (`remove`). */
  react: { params: z.object({ conversation: id, seq: z.number().int().positive(), emoji, remove: z.boolean().default(false) }), result: z.object({ message: historyMessage }) },
  /** Edits one of our messages: the new text replaces the old for everyone. */
  edit: { params: z.object({ conversation: id, seq: z.number().int().positive(), text: text.min(1) }), result: z.object({ message: historyMessage }) },
  /** Deletes one of our messages for everyone. */
  delete: { params: z.object({ conversation: id, seq: z.number().int().positive() }), result: z.object({ message: historyMessage }) },
  /** Presses a button under message `seq`: its author (a bot) gets the payload. */
  press: { params: z.object({ conversation: id, seq: z.number().int().positive(), payload }), result: z.object({ message: historyMessage }) },
  /** The person has seen the conversation up to now: unread goes to 0, the other side of a contact is told. */
  read: { params: z.object({ conversation: id }), result: z.object({}) },
  addContact: { params: z.object({ link, message: z.string().max(2000).optional() }), result: z.object({ name, delivered: z.boolean() }) },
  answerRequest: { params: z.object({ account: id, accept: z.boolean() }), result: z.object({ conversation: id.optional() }) },
  createGroup: { params: z.object({ name: name.min(1) }), result: z.object({ conversation: id }) },
  invitation: { params: z.object({ conversation: id }), result: z.object({ invitation: link }) },
  invite: { params: z.object({ conversation: id, contact: id }), result: z.object({}) },
  joinGroup: { params: z.object({ invitation: link }), result: z.object({ conversation: id }) },
  addReplica: { params: z.object({ conversation: id, link }), result: z.object({}) },
  /** The accounts blocked, the most recently blocked first. */
  blocked: { params: z.object({}), result: blockedList },
  /** Blocks an account (its id or contact link; `name`, what the page calls it, is kept for the list). */
  block: { params: z.object({ account: link, name: name.optional() }), result: blockedList },
  unblock: { params: z.object({ account: link }), result: blockedList }
} as const

export type MethodName = keyof typeof methods
export type Params<M extends MethodName> = z.input<typeof methods[M]['params']>
export type Result<M extends MethodName> = z.infer<typeof methods[M]['result']>

export const request = z.object({ id: z.number().int().nonnegative(), method: z.string().max(50), params: z.unknown() })

export const errorBody = z.object({ code: z.string().max(100), message: z.string().max(2000) })
export type ErrorBody = z.infer<typeof errorBody>

/** What the server pushes. */
export const event = z.discriminatedUnion('event', [
  /** A message arrived, or one of ours was sent or seen: the page inserts or updates it by seq. */
  z.object({ event: z.literal('message'), data: historyMessage }),
  /** A conversation's summary changed (new, renamed, unread, last message, commands). */
  z.object({ event: z.literal('conversation'), data: conversationSummary }),
  /** The contact requests waiting for an answer, all of them. */
  z.object({ event: z.literal('requests'), data: z.array(contactRequest) })
])
export type ServerEvent = z.infer<typeof event>

export const response = z.union([
  z.object({ id: z.number().int().nonnegative(), result: z.unknown() }),
  z.object({ id: z.number().int().nonnegative(), error: errorBody })
])

/** Anything the server may send: an answer to a request, or an event. */
export const serverMessage = z.union([response, event])

/** What an upload is answered with: the message that carries the file, or why there is none. */
export const uploadResult = z.union([z.object({ message: historyMessage }), z.object({ error: errorBody })])
