/**
 * What the person does to a message in the history: react to it (or take
 * the reaction back), edit or delete one of their own (or, as an admin of
 * the group, delete anyone's), press one of its buttons. Each is checked as the peer would check it, applied to the
 * history and recorded to send in one write, then sent in the background
 * (`outgoing-actions.ts`): what the person sees done goes out, even after a
 * crash.
 */
import { checkOutgoing, MAX_TEXT_LENGTH, type Group, type OutgoingMessage, type Peer } from '../protocol/index.ts'
import { ClientError } from './client-errors.ts'
import type { HistoryStore, StoredMessage } from './history.ts'
import type { MessageChange } from './history-records.ts'
import type { OutgoingActions } from './outgoing-actions.ts'
import type { StoredAction } from './pending-actions.ts'
import { isAdminOf, nameOf } from './views.ts'

export interface MessageActionsDeps {
  peer: Peer
  history: HistoryStore
  outgoing: OutgoingActions
  /** A message changed in the history: tell who shows it. */
  changed: (group: Group, message: StoredMessage) => Promise<void>
  now: () => number
}

export class MessageActions {
  readonly #deps: MessageActionsDeps

  constructor (deps: MessageActionsDeps) {
    this.#deps = deps
  }

  async react (group: Group, seq: number, emoji: string, remove: boolean): Promise<StoredMessage> {
    const target = await this.#sent(group, seq)
    const { peer } = this.#deps
    const change: MessageChange = { kind: 'reaction', account: peer.accountId, name: nameOf(peer, peer.accountId, peer.displayName), emoji, removed: remove }
    return await this.#apply(group, target, change, { kind: 'reaction', target: target.messageId, emoji, ...(remove ? { remove: true } : {}) })
  }

  async edit (group: Group, seq: number, text: string): Promise<StoredMessage> {
    const target = await this.#own(group, seq)
    if (text.trim() === '') throw new ClientError('ERR_EMPTY_MESSAGE', 'the new text is empty: delete the message instead')
    if (text.length > MAX_TEXT_LENGTH) throw new ClientError('ERR_MESSAGE_TOO_LONG', `the text is ${text.length} characters long; at most ${MAX_TEXT_LENGTH} fit`)
    // A person's messages are plain text, and an edit keeps the buttons and files they had (none).
    return await this.#apply(group, target, { kind: 'edit', text, at: this.#deps.now() }, { kind: 'edit', target: target.messageId, text })
  }

  /** Deletes one of the person's messages, or, as an admin of the group, anyone's. */
  async delete (group: Group, seq: number): Promise<StoredMessage> {
    const sent = await this.#sent(group, seq)
    const byAdmin = !sent.sender.own && sent.invitation === undefined && isAdminOf(group, this.#deps.peer.accountId)
    const target = byAdmin ? sent : await this.#own(group, seq)
    const change: MessageChange = { kind: 'deletion', at: this.#deps.now(), ...(byAdmin ? { byAdmin: true } : {}) }
    return await this.#apply(group, target, change, { kind: 'deletion', target: target.messageId })
  }

  /** Presses the button of `payload` under message `seq` (one it shows). */
  async press (group: Group, seq: number, payload: string): Promise<StoredMessage> {
    const target = await this.#sent(group, seq)
    if (!(target.buttons ?? []).flat().some((b) => b.payload === payload)) throw new ClientError('ERR_NO_BUTTON', 'the message has no such button')
    const action = checkOutgoing({ kind: 'buttonPress', target: target.messageId, payload })
    const recorded = await this.#deps.history.pressed(group.id, seq, payload, action)
    if (recorded === undefined) throw new ClientError('ERR_NO_MESSAGE', `no message ${seq} in this conversation`)
    return await this.#done(group, recorded.message, recorded.action)
  }

  /** The message `seq`, sent (it has an id to name) and not deleted. */
  async #sent (group: Group, seq: number): Promise<StoredMessage & { messageId: string }> {
    const message = await this.#deps.history.bySeq(group.id, seq)
    if (message === undefined) throw new ClientError('ERR_NO_MESSAGE', `no message ${seq} in this conversation`)
    if (message.deletedAt !== undefined) throw new ClientError('ERR_MESSAGE_DELETED', 'the message was deleted')
    if (message.messageId === undefined) throw new ClientError('ERR_NOT_SENT_YET', 'the message is not sent yet: try again in a moment')
    return message as StoredMessage & { messageId: string }
  }

  /** The message `seq`, sent, not deleted, and ours: a text, not an invitation (whose author the peers do not track). */
  async #own (group: Group, seq: number): Promise<StoredMessage & { messageId: string }> {
    const message = await this.#sent(group, seq)
    if (!message.sender.own || message.invitation !== undefined) throw new ClientError('ERR_NOT_YOURS', 'only your own messages can be edited or deleted (a group admin may also delete those of others)')
    return message
  }

  async #apply (group: Group, target: StoredMessage & { messageId: string }, change: MessageChange, message: OutgoingMessage): Promise<StoredMessage> {
    // Refused here, with the peer's reason, rather than recorded and dropped when sealed.
    const action = checkOutgoing(message)
    const applied = await this.#deps.history.applyTo(group.id, target.messageId, change, action)
    const shown = applied.outcome === 'changed' ? applied.message : target
    if (applied.action === undefined) return shown
    return await this.#done(group, shown, applied.action)
  }

  async #done (group: Group, message: StoredMessage, action: StoredAction): Promise<StoredMessage> {
    this.#deps.outgoing.send(action)
    await this.#deps.changed(group, message)
    return message
  }
}
