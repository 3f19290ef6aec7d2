/**
 * What a client shows, built from its history (`history.ts`): a message (with
 * what it answers), a conversation's summary, a contact request waiting for an
 * answer, and the name a person goes by.
 */
import type { Contact, Group, Peer } from '../protocol/index.ts'
import type { DeliveryState, HistoryStore, OfferedCommand, StoredMessage } from './history.ts'
import type { StoredButtons, StoredReaction } from './history-records.ts'

/** A file a message carries, as a client shows it: `index` names it to read it (`client.readFile`). */
export interface FileView {
  index: number
  name: string
  type: string
  size: number
  /** It has a preview to show (`client.filePreview`). */
  preview: boolean
}

/** One emoji on a message: how many put it there, whether we did, and who. */
export interface ReactionView {
  emoji: string
  count: number
  own: boolean
  names: string[]
}

export interface MessageView {
  conversation: string
  seq: number
  messageId?: string | undefined
  sender: { account: string, name: string, own: boolean }
  text: string
  /** What it answers, with what the history knows of that message. */
  replyTo?: { messageId: string, sender?: string | undefined, text?: string | undefined, deleted?: boolean | undefined } | undefined
  invitation?: { link: string, groupName: string } | undefined
  sentAt: number
  /** Ours only. */
  state?: DeliveryState | undefined
  /** `markdown`: the text is the Markdown subset, to render (safely). */
  format: 'plain' | 'markdown'
  /** Rows of buttons under it, and the payloads the person pressed. */
  buttons: StoredButtons
  pressed: string[]
  files: FileView[]
  /** By emoji, in the order each was first put. */
  reactions: ReactionView[]
  /** Its author changed it: the text, format and buttons are the latest. */
  edited: boolean
  /** Its author (or an admin) deleted it: nothing of what it said is left. */
  deleted: boolean
  /** An admin of the group deleted it, not its author. */
  deletedByAdmin: boolean
}

export interface ConversationView {
  id: string
  kind: 'contact' | 'group'
  name: string
  unread: number
  last?: MessageView | undefined
  members: number
  /** The person is an admin of this group: it may delete anyone's message there. */
  admin: boolean
  commands: OfferedCommand[]
}

export interface RequestView {
  account: string
  name: string
  message?: string | undefined
  receivedAt: number
}

/** `self`: our account, to tell our reactions apart. */
export async function messageView (history: HistoryStore, conversation: string, message: StoredMessage, self: string): Promise<MessageView> {
  const { seq, messageId, sender, text, replyTo, invitation, sentAt, state } = message
  let reply: MessageView['replyTo']
  if (replyTo !== undefined) {
    const target = await history.byMessageId(conversation, replyTo)
    const deleted = target?.deletedAt !== undefined
    reply = { messageId: replyTo, sender: target === undefined ? undefined : target.sender.own ? 'You' : target.sender.name, text: deleted ? undefined : quoted(target), ...(deleted ? { deleted } : {}) }
  }
  return {
    conversation,
    seq,
    messageId,
    sender,
    text,
    replyTo: reply,
    invitation,
    sentAt,
    state,
    format: message.format ?? 'plain',
    buttons: message.buttons ?? [],
    pressed: message.pressed ?? [],
    files: (message.files ?? []).map((f, index) => ({ index, name: f.name, type: f.type, size: f.size, preview: f.preview !== undefined })),
    reactions: reactionViews(message.reactions ?? [], self),
    edited: message.editedAt !== undefined,
    deleted: message.deletedAt !== undefined,
    deletedByAdmin: message.deletedByAdmin === true
  }
}

/** What a reply shows of the message it answers: its text, or its first file's name. */
function quoted (target: StoredMessage | undefined): string | undefined {
  if (target === undefined) return undefined
  const text = target.text === '' && target.files?.[0] !== undefined ? `📎 ${target.files[0].name}` : target.text
  return text.slice(0, 300)
}

export function reactionViews (reactions: readonly StoredReaction[], self: string): ReactionView[] {
  const byEmoji = new Map<string, ReactionView>()
  for (const r of reactions) {
    const view = byEmoji.get(r.emoji) ?? { emoji: r.emoji, count: 0, own: false, names: [] }
    view.count += 1
    view.own ||= r.account === self
    view.names.push(r.account === self ? 'You' : r.name)
    byEmoji.set(r.emoji, view)
  }
  return [...byEmoji.values()]
}

export async function conversationView (history: HistoryStore, group: Group, self: string): Promise<ConversationView> {
  const last = await history.last(group.id)
  return {
    id: group.id,
    kind: group.kind === 'contact' ? 'contact' : 'group',
    name: group.name,
    unread: history.unread(group.id),
    last: last === undefined ? undefined : await messageView(history, group.id, last, self),
    members: group.members().length,
    admin: isAdminOf(group, self),
    commands: history.commands(group.id)
  }
}

/** `seen`: what the request's event said, which the contact list does not keep; `now` stands in for when it came if nothing was seen. */
export function requestView (contact: Contact, seen: { receivedAt: number, message: string | undefined } | undefined, now: number): RequestView {
  return {
    account: contact.account,
    name: contact.displayName === '' ? `someone (${contact.account.slice(0, 8)})` : contact.displayName,
    ...(seen?.message === undefined || seen.message === '' ? {} : { message: seen.message }),
    receivedAt: seen?.receivedAt ?? now
  }
}

/** A person's name: the one they gave, else the one they have as our contact, else the start of their account id. */
export function nameOf (peer: Peer, account: string, given: string | undefined): string {
  if (given !== undefined && given !== '') return given
  const contact = peer.contact(account)
  if (contact !== undefined && contact.displayName !== '') return contact.displayName
  return `someone (${account.slice(0, 8)})`
}

/** Whether `account` is an admin of `group` (a contact conversation has none), so that it may delete others' messages. */
export function isAdminOf (group: Group, account: string): boolean {
  return group.kind === 'multi-member' && group.admins().includes(account)
}
