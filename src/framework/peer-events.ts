/**
 * The peer's events, as the bot handles them: each reduced to a conversation
 * to queue it in, a key for the journal, how to tell the peer it was handled,
 * and how to make its context.
 */
import type { Peer, PeerEvents } from '../protocol/index.ts'
import {
  AcknowledgementContext, ButtonContext, ContactAcceptedContext, ContactRequestContext, GroupInvitationContext, MemberJoinedContext,
  MessageContext, MessageDeletedContext, MessageEditedContext, ReactionContext, type Context, type ContextDeps
} from './context.ts'

export interface Incoming {
  /** Conversation key: events with the same key are handled in order. */
  queue: string
  /** Identifies the event in the journal. */
  key: string
  /** Whose event it is (the sender, the member who joined, the requester, the contact): a blocked account's is dropped. */
  account: string
  /** The peer will not deliver it again once marked handled, so the journal can forget it then. */
  durable: boolean
  markHandled: () => Promise<void>
  context: (deps: ContextDeps) => Context
  /** A button press: handled only if the bot offered that payload on that message (`ButtonGuard`). */
  press?: { group: string, target: string, payload: string }
}

/** Passes each of the peer's events to `receive`; returns what removes the listeners. */
export function listenToPeer (peer: Peer, receive: (incoming: Incoming) => void): () => void {
  const removers: Array<() => void> = []
  const add = <K extends keyof PeerEvents>(name: K, listener: PeerEvents[K]): void => {
    peer.on(name, listener as never)
    removers.push(() => { peer.off(name, listener as never) })
  }
  add('message', (e) => {
    receive({ account: e.sender.account, queue: e.group.id, key: `message/${e.group.id}/${e.id}`, durable: true, markHandled: e.markHandled, context: (s) => new MessageContext(s, e) })
  })
  add('reaction', (e) => {
    receive({ account: e.sender.account, queue: e.group.id, key: `reaction/${e.group.id}/${e.id}`, durable: true, markHandled: e.markHandled, context: (s) => new ReactionContext(s, e) })
  })
  add('messageEdited', (e) => {
    receive({ account: e.sender.account, queue: e.group.id, key: `edited/${e.group.id}/${e.id}`, durable: true, markHandled: e.markHandled, context: (s) => new MessageEditedContext(s, e) })
  })
  add('messageDeleted', (e) => {
    receive({ account: e.sender.account, queue: e.group.id, key: `deleted/${e.group.id}/${e.id}`, durable: true, markHandled: e.markHandled, context: (s) => new MessageDeletedContext(s, e) })
  })
  add('buttonPressed', (e) => {
    const press = { group: e.group.id, target: e.target, payload: e.payload }
    receive({ account: e.sender.account, queue: e.group.id, key: `press/${e.group.id}/${e.id}`, durable: true, markHandled: e.markHandled, context: (s) => new ButtonContext(s, e), press })
  })
  add('acknowledgement', (e) => {
    receive({ account: e.sender.account, queue: e.group.id, key: `ack/${e.group.id}/${e.id}`, durable: true, markHandled: e.markHandled, context: (s) => new AcknowledgementContext(s, e) })
  })
  add('groupInvitation', (e) => {
    receive({ account: e.sender.account, queue: e.group.id, key: `invitation/${e.group.id}/${e.id}`, durable: true, markHandled: e.markHandled, context: (s) => new GroupInvitationContext(s, e) })
  })
  add('memberJoined', (e) => {
    receive({ account: e.member.account, queue: e.group.id, key: `joined/${e.group.id}/${e.member.account}`, durable: true, markHandled: e.markHandled, context: (s) => new MemberJoinedContext(s, e) })
  })
  add('contactRequest', (e) => {
    // The peer delivers a pending request again at each start: the journal keeps it handled.
    receive({ account: e.account, queue: `contact/${e.account}`, key: `request/${e.account}/${e.receivedAt.getTime()}`, durable: false, markHandled: e.markHandled, context: (s) => new ContactRequestContext(s, e) })
  })
  add('contactAccepted', (e) => {
    receive({ account: e.contact.account, queue: e.group.id, key: `accepted/${e.contact.account}`, durable: true, markHandled: e.markHandled, context: (s) => new ContactAcceptedContext(s, e) })
  })
  return () => { for (const remove of removers.splice(0)) remove() }
}
