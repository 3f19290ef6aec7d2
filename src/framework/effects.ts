/**
 * What a handler's context writes, all of it through the handler's
 * transaction: messages to queue in the outbox and key-value state, which
 * take effect together once the handlers finish (`context.ts`).
 */
import {
  checkOutgoing, InvalidMessageError, MAX_TEXT_LENGTH, type ButtonRows, type Group, type MessageFormat, type OutgoingMessage, type Peer
} from '../protocol/index.ts'
import type { Conversation } from './conversations.ts'
import type { Transaction } from './transaction.ts'

/** Persistent key-value state. Values are JSON; writes take effect when the handlers finish. */
export interface KeyValue {
  get: <T = unknown>(key: string) => Promise<T | undefined>
  set: (key: string, value: unknown) => Promise<void>
  delete: (key: string) => Promise<void>
}

export interface SendOptions {
  /** The id of the message this one answers. */
  replyTo?: string
  /**
   * A name for this message, unique to the bot: once it is sent, its id is
   * recorded under it (`bot.messageIdOf(tag)`, `bot.tagOf(id)`), so that a
   * later message can answer it and a user's answer to it can be recognised.
   * Tags are remembered for 30 days.
   */
  tag?: string
  /** Answer the message sent with this tag, even if it is still queued (ignored if there is none). */
  replyToTag?: string
  /** `'markdown'`: the text is the Markdown subset clients render (bold, italic, code, code blocks, links). */
  format?: MessageFormat
  /**
   * Rows of buttons under the message (`[[{ label: 'Yes', payload: 'vote:yes' }]]`):
   * a press reaches `bot.onButton(payload, ...)`. The bot remembers what it
   * offered, and a press of anything else is dropped.
   */
  buttons?: ButtonRows
}

/** Where a message goes: a conversation (or a peer's `Group`), a group id, or a contact's account id. */
export type Recipient = Conversation | Group | string

/** Queues a text message in `tx`, checking it now so that a bad one fails in the handler. */
export function queueMessage (deps: { peer: Peer, tx: Transaction }, to: Recipient, text: string, options: SendOptions = {}): void {
  if (typeof text !== 'string' || text.length > MAX_TEXT_LENGTH) throw new InvalidMessageError(`a message is a text of at most ${MAX_TEXT_LENGTH} characters`)
  const { replyTo, format, buttons, tag, replyToTag } = options
  queueOutgoing(deps, to, { text, replyTo, format, buttons }, { tag, replyToTag })
}

/** Queues a message of any kind in `tx` (a reaction, an edit...), checked now so that a bad one fails in the handler. */
export function queueOutgoing (deps: { peer: Peer, tx: Transaction }, to: Recipient, message: OutgoingMessage, options: Pick<SendOptions, 'tag' | 'replyToTag'> = {}): void {
  const group = typeof to === 'string' ? deps.peer.group(to) ?? deps.peer.contact(to)?.group : deps.peer.group(to.id)
  if (group === undefined) throw new InvalidMessageError(`no group or contact "${typeof to === 'string' ? to : to.id}" to send to`)
  deps.tx.send({ group: group.id, message: checkOutgoing(message), tag: options.tag, replyToTag: options.replyToTag })
}

/** The state of `scope` (a conversation, or the bot), read and written through `tx`. */
export function scopedState (deps: { tx: Transaction }, scope: string): KeyValue {
  return {
    get: async <T>(key: string) => await deps.tx.get(scope, key) as T | undefined,
    set: async (key, value) => { deps.tx.set(scope, key, value) },
    delete: async (key) => { deps.tx.delete(scope, key) }
  }
}
