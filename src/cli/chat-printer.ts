/**
 * What the chat prints of messages as the client tells them: a message from
 * someone else as it arrives, numbered; a change to one already printed as
 * that change (`#3 👍 2 · ❤️ 1`, the line again with `(edited)`, or
 * `(deleted)`, `(deleted by an admin)`); our own as it goes (marked when it waits for a peer, or is
 * printed not delivered yet, and again once delivered); and `/history`, the
 * open conversation's last messages as they are now.
 */
import type { MessageView } from '../client/index.ts'
import type { Group } from '../protocol/index.ts'
import { linesUnder, reactionLine, safeLine, shownText, time } from './chat-lines.ts'
import { quote, type ShownMessage } from './chat-messages.ts'
import { conversationName, type ChatState } from './chat-session.ts'

/** How many messages `/history` shows without a number, and at most. */
const HISTORY_DEFAULT = 20
const HISTORY_MAX = 500

/** What was printed of a message, to tell what changed. */
function printed (m: MessageView): string {
  return JSON.stringify({ text: m.text, format: m.format, edited: m.edited, deleted: m.deleted, buttons: m.buttons, files: m.files.length, reactions: reactionLine(m) })
}

export class MessagePrinter {
  readonly #state: ChatState
  /** Our messages printed as pending, by conversation and seq: they are marked again once delivered. */
  readonly #pendingShown = new Set<string>()

  constructor (state: ChatState) {
    this.#state = state
  }

  /** A message the client wrote or changed. */
  told (m: MessageView): void {
    const { peer, shown, client, print } = this.#state
    const group = peer.group(m.conversation)
    if (group === undefined) return
    const known = shown.known(group, m.seq)
    const message = shown.remember(group, m)
    if (known?.printed !== undefined) return this.#changed(group, m, message)
    // Ours is not printed as it goes; one that got reactions is, so that they show under it.
    if (m.sender.own && m.reactions.length === 0) return this.#ownMessageChanged(group, m)
    print(this.lines(group, m, message, { where: true }))
    if (!m.sender.own) client.markRead(m.conversation).catch((err: unknown) => { print(`error: could not mark as read: ${(err as Error).message}`) })
  }

  /** `/history [n]`: the open conversation's last n messages. */
  async history (args: string): Promise<void> {
    const { client, print } = this.#state
    const group = this.#state.open
    if (group === undefined) return print('no conversation open: /open one first (see /groups).')
    const wanted = args === '' ? HISTORY_DEFAULT : Number(args)
    if (!Number.isInteger(wanted) || wanted < 1) return print(`usage: /history [n], n a number of messages (1 to ${HISTORY_MAX})`)
    const { messages, more } = await client.history(group.id, { limit: Math.min(wanted, HISTORY_MAX) })
    if (messages.length === 0) return print(`no messages in ${conversationName(group)} yet.`)
    print([
      `${more ? 'last ' : ''}${messages.length} message(s) in ${conversationName(group)}:`,
      ...messages.map((m) => this.lines(group, m, this.#state.shown.remember(group, m), { where: false }))
    ].join('\n'))
    await client.markRead(group.id)
  }

  /** A message and the lines under it; it gets its number here if it had none. */
  lines (group: Group, m: MessageView, message: ShownMessage, options: { where: boolean }): string {
    const { shown, terminal } = this.#state
    const number = shown.number(message)
    message.printed = printed(m)
    message.buttons = m.buttons
    if (m.buttons.length > 0 && !m.deleted) shown.lastWithButtons = number
    const notes: string[] = []
    // A 1:1 conversation is named after the contact: say where only when it is another group.
    if (options.where && group.id !== this.#state.open?.id) notes.push(group.kind === 'contact' ? 'to you' : `in "${safeLine(group.name)}"`)
    if (m.replyTo !== undefined) notes.push(shown.describe(m.replyTo.messageId, m.replyTo))
    const note = notes.length === 0 ? '' : ` (${notes.join(', ')})`
    const text = m.deleted ? (m.deletedByAdmin ? '(deleted by an admin)' : '(deleted)') : `${m.text === '' && m.files.length > 0 ? '(a file)' : shownText(m, terminal)}${m.edited ? ' (edited)' : ''}`
    // Marked again once delivered, as a message printed pending is.
    const isWaiting = m.sender.own && (message.state === 'pending' || message.state === 'sending')
    if (isWaiting) this.#pendingShown.add(`${m.conversation}/${m.seq}`)
    const waiting = isWaiting ? '  (not delivered yet)' : ''
    const who = m.sender.own ? 'you' : safeLine(m.sender.name)
    return [`#${number} [${time(new Date(m.sentAt))}] ${who}${note}: ${text}${waiting}`, ...linesUnder(m, number, terminal)].join('\n')
  }

  /** A message printed before changed: its reactions, its text, or it was deleted. */
  #changed (group: Group, m: MessageView, message: ShownMessage): void {
    const before = message.printed
    if (before === printed(m)) return m.sender.own ? this.#ownMessageChanged(group, m) : undefined
    const old = JSON.parse(before as string) as { text: string, format: string, edited: boolean, deleted: boolean, reactions: string }
    const onlyReactions = old.text === m.text && old.format === m.format && old.edited === m.edited && old.deleted === m.deleted
    if (!onlyReactions || m.deleted) return this.#state.print(this.lines(group, m, message, { where: true }))
    message.printed = printed(m)
    const reactions = reactionLine(m)
    this.#state.print(`#${message.number ?? '?'} ${reactions === '' ? 'no reactions left' : reactions}`)
  }

  /** Our message moved on: marked when it waits for a peer, and again once delivered. */
  #ownMessageChanged (group: Group, m: MessageView): void {
    const key = `${m.conversation}/${m.seq}`
    const where = conversationName(group)
    const what = m.text === '' && m.files[0] !== undefined ? m.files[0].name : m.text
    if (m.state === 'pending' && !this.#pendingShown.has(key)) {
      this.#pendingShown.add(key)
      this.#state.print(`(pending: nobody in ${where} is reachable; "${quote(what)}" goes out when someone is)`)
    } else if ((m.state === 'sent' || m.state === 'seen') && this.#pendingShown.delete(key)) {
      this.#state.print(`(delivered in ${where}: "${quote(what)}")`)
    } else if (m.state === 'failed') {
      this.#state.print(`(could not send "${quote(what)}")`)
    }
  }
}
