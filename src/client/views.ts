/**
 * What a client shows, built from its history (`history.ts`): a message (with
 * what it answers), a conversation's summary, a contact request waiting for an
 * answer, and the name a person goes by.
 */
import type { Contact, Group, Peer } from '../protocol/index.ts'
import type { DeliveryState, HistoryStore, OfferedCommand, StoredMessage } from './history.ts'

export interface MessageView {
  conversation: string
  seq: number
  messageId?: string | undefined
  sender: { account: string, name: string, own: boolean }
  text: string
  /** What it answers, with what the history knows of that message. */
  replyTo?: { messageId: string, sender?: string | undefined, text?: string | undefined } | undefined
  invitation?: { link: string, groupName: string } | undefined
  sentAt: number
  /** Ours only. */
  state?: DeliveryState | undefined
}

export interface ConversationView {
  id: string
  kind: 'contact' | 'group'
  name: string
  unread: number
  last?: MessageView | undefined
  members: number
  commands: OfferedCommand[]
}

export interface RequestView {
  account: string
  name: string
  message?: string | undefined
  receivedAt: number
}

export async function messageView (history: HistoryStore, conversation: string, message: StoredMessage): Promise<MessageView> {
  const { seq, messageId, sender, text, replyTo, invitation, sentAt, state } = message
  let reply: MessageView['replyTo']
  if (replyTo !== undefined) {
    const target = await history.byMessageId(conversation, replyTo)
    reply = { messageId: replyTo, sender: target === undefined ? undefined : target.sender.own ? 'You' : target.sender.name, text: target?.text.slice(0, 300) }
  }
  return { conversation, seq, messageId, sender, text, replyTo: reply, invitation, sentAt, state }
}

export async function conversationView (history: HistoryStore, group: Group): Promise<ConversationView> {
  const last = await history.last(group.id)
  return {
    id: group.id,
    kind: group.kind === 'contact' ? 'contact' : 'group',
    name: group.name,
    unread: history.unread(group.id),
    last: last === undefined ? undefined : await messageView(history, group.id, last),
    members: group.members().length,
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
