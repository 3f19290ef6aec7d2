/**
 * What a person's client (the web page, the terminal) needs beside the peer:
 * conversations with their history on disk, unread counts, our messages'
 * delivery states, the commands a bot offers. It listens to the peer, writes
 * each event into the history before marking it handled (`incoming-events.ts`;
 * give it a peer made with `delivery: 'manual'`, so a crash in between
 * delivers the event again), and sends through a write-ahead record, so a
 * message typed is never lost (`outgoing-messages.ts`); a message of ours is
 * `seen` once the other side of a contact acknowledges it. Views: `views.ts`.
 *
 * Acknowledgements are sent in 1:1 conversations only, one for the newest
 * message when the person reads the conversation: in a group every member
 * acknowledging every message would multiply the log's entries.
 */
import { join } from 'node:path'
import { EventEmitter } from 'eventemitter3'
import PQueue from 'p-queue'
import { MAX_TEXT_LENGTH, defaultLogger, namespaced, systemClock, type AbortOptions, type Clock, type Contact, type FileSource, type Group, type Logger, type Peer } from '../protocol/index.ts'
import { ClientBlocks, type BlockedView } from './client-blocks.ts'
import { ClientError } from './client-errors.ts'
import { ClientFiles, type FileToRead, type FileToSend } from './client-files.ts'
import { HistoryStore, MAX_PAGE, type DeliveryState, type NewMessage, type OfferedCommand, type StoredMessage } from './history.ts'
import { IncomingEvents } from './incoming-events.ts'
import { MessageActions } from './message-actions.ts'
import { OutgoingActions } from './outgoing-actions.ts'
import { OutgoingMessages } from './outgoing-messages.ts'
import { SummaryTimer } from './summary-timer.ts'
import { conversationView, messageView, requestView, type ConversationView, type MessageView, type RequestView } from './views.ts'

/** Where in the data directory the history lives. */
const HISTORY_DIR = 'client-history'

export interface ClientEvents {
  /** A message was written into a history, or changed (its state). */
  message: (message: MessageView) => void
  /** A conversation appeared or its summary changed. */
  conversation: (conversation: ConversationView) => void
  /** The contact requests waiting for an answer changed; all of them. */
  requests: (requests: RequestView[]) => void
}

export interface ClientOptions {
  /** Its peer, made with `delivery: 'manual'`. */
  peer: Peer
  /** The peer's data directory: the history is kept beside its state. */
  dataDir: string
  logger?: Logger
  /** What our messages are stamped with (a test's may be fake); the system's by default. */
  clock?: Clock
}

export class ChatClient extends EventEmitter<ClientEvents> {
  readonly #peer: Peer
  readonly #history: HistoryStore
  readonly #logger: Logger
  /** Writes to the history for events (and for our messages handed over), one at a time, in the order the peer gives them. */
  readonly #eventWrites = new PQueue({ concurrency: 1 })
  readonly #incoming: IncomingEvents
  readonly #outgoing: OutgoingMessages
  readonly #actionsOut: OutgoingActions
  readonly #actions: MessageActions
  readonly #files: ClientFiles
  readonly #clock: Clock
  /** Block, unblock and list blocked accounts (`client-blocks.ts`). */
  readonly blocks: ClientBlocks
  /** What the requests' events said, which the contact list does not keep. */
  readonly #requestsSeen = new Map<string, { receivedAt: number, message: string | undefined }>()
  readonly #summaries = new SummaryTimer((group) => {
    this.#view(group).then((view) => { if (!this.#closed) this.emit('conversation', view) }, (err: unknown) => {
      if (!this.#closed) this.#logger.warn({ err }, 'could not read a conversation')
    })
  })
  #closed = false

  private constructor (peer: Peer, history: HistoryStore, logger: Logger, clock: Clock) {
    super()
    this.#peer = peer
    this.#clock = clock
    this.#history = history
    this.#logger = logger
    const changed = async (group: Group, message: StoredMessage): Promise<void> => {
      this.emit('message', await this.#messageView(group.id, message))
      this.#changed(group)
    }
    const now = (): number => clock.now()
    this.#files = new ClientFiles({ peer, history, logger, now })
    this.#outgoing = new OutgoingMessages({
      peer,
      history,
      logger,
      queue: this.#eventWrites,
      changed,
      closed: () => this.#closed,
      failStaged: async (group, message) => await this.#files.failStaged(group, message)
    })
    this.#actionsOut = new OutgoingActions({ peer, actions: history.actions, logger, closed: () => this.#closed })
    this.#actions = new MessageActions({ peer, history, outgoing: this.#actionsOut, changed, now })
    this.blocks = new ClientBlocks({ peer, blocked: history.blocked, now, inOrder: async (change) => await this.#inOrder(change), changed: () => { this.emit('requests', this.requests()) } })
    this.#incoming = new IncomingEvents({
      peer,
      history,
      logger,
      queue: this.#eventWrites,
      shown: async (conversation, message) => { this.emit('message', await this.#messageView(conversation, message)) },
      changed: (group) => { this.#changed(group) },
      requested: (e) => {
        this.#requestsSeen.set(e.account, { receivedAt: e.receivedAt.getTime(), message: e.message })
        this.emit('requests', this.requests())
      },
      answered: () => { this.emit('requests', this.requests()) },
      handedOver: (e) => { this.#outgoing.handedOver(e) },
      blocked: (account) => history.blocked.has(account),
      closed: () => this.#closed
    })
  }

  static async open (options: ClientOptions): Promise<ChatClient> {
    const logger = namespaced(options.logger ?? defaultLogger(), 'client')
    const history = await HistoryStore.open(join(options.dataDir, HISTORY_DIR), logger)
    const client = new ChatClient(options.peer, history, logger, options.clock ?? systemClock)
    client.#incoming.start()
    await client.#outgoing.resume()
    await client.#actionsOut.resume()
    return client
  }

  get self (): { account: string, name: string, link: string } {
    return { account: this.#peer.accountId, name: this.#peer.displayName ?? '', link: this.#peer.contactLink() }
  }

  /** The largest file sent or read, in bytes: the peer's `maxFileSize`. */
  get maxFileSize (): number {
    return this.#peer.files.maxFileSize
  }

  /** Every conversation, the most recently active first. */
  async conversations (): Promise<ConversationView[]> {
    const views = await Promise.all(this.#peer.groups().map(async (group) => await this.#view(group)))
    return views.sort((a, b) => (b.last?.sentAt ?? 0) - (a.last?.sentAt ?? 0))
  }

  async conversation (id: string): Promise<ConversationView> {
    return await this.#view(this.#group(id))
  }

  /** Up to `limit` messages before seq `before` (or the newest), oldest first. */
  async history (id: string, options: { before?: number | undefined, limit?: number } = {}): Promise<{ messages: MessageView[], more: boolean }> {
    this.#group(id)
    const page = await this.#history.page(id, { before: options.before, limit: Math.min(options.limit ?? 50, MAX_PAGE) })
    return { messages: await Promise.all(page.messages.map(async (m) => await this.#messageView(id, m))), more: page.more }
  }

  /**
   * Writes the message into the history as `sending` and returns it; sending
   * goes on in the background, each step told by a `message` event.
   */
  async send (id: string, text: string, replyTo?: string): Promise<MessageView> {
    const group = this.#group(id)
    if (text.trim() === '') throw new ClientError('ERR_EMPTY_MESSAGE', 'the message is empty')
    if (text.length > MAX_TEXT_LENGTH) throw new ClientError('ERR_MESSAGE_TOO_LONG', `the message is ${text.length} characters long; at most ${MAX_TEXT_LENGTH} fit`)
    // Not behind the incoming queue: a seq is taken at once, and a catch-up must not hold up what the person types.
    const stored = await this.#history.append(id, {
      sender: { account: this.#peer.accountId, name: this.#peer.displayName ?? '', own: true },
      text,
      ...(replyTo === undefined ? {} : { replyTo }),
      sentAt: this.#clock.now(),
      state: 'sending'
    })
    const view = await this.#messageView(id, stored)
    this.#outgoing.send(group, stored)
    this.#changed(group)
    return view
  }

  /** Stores a file (an image with the preview the caller made, if any) and sends it, as `send` does a text. */
  async sendFile (id: string, source: FileSource, file: FileToSend, abort: AbortOptions = {}): Promise<MessageView> {
    const group = this.#group(id)
    const stored = await this.#files.record(group, source, file, abort)
    this.#outgoing.send(group, stored)
    this.#changed(group)
    return await this.#messageView(id, stored)
  }

  /** File `index` of message `seq`, streamed from whoever holds it; `ERR_FILE_TOO_LARGE` past `maxFileSize`. */
  async readFile (id: string, seq: number, index: number, abort: AbortOptions = {}): Promise<FileToRead> {
    return await this.#files.read(this.#group(id), seq, index, abort)
  }

  /** The preview its sender gave an image, if any. */
  async filePreview (id: string, seq: number, index: number): Promise<{ type: string, bytes: Uint8Array } | undefined> {
    return await this.#files.preview(this.#group(id), seq, index)
  }

  /** Puts `emoji` on message `seq`, or takes it off (`remove`); sent in the background, as every action below. */
  async react (id: string, seq: number, emoji: string, options: { remove?: boolean } = {}): Promise<MessageView> {
    const group = this.#group(id)
    return await this.#messageView(id, await this.#inOrder(async () => await this.#actions.react(group, seq, emoji, options.remove === true)))
  }

  /** Edits one of our messages (sent, not deleted): the new text replaces the old for everyone. */
  async edit (id: string, seq: number, text: string): Promise<MessageView> {
    const group = this.#group(id)
    return await this.#messageView(id, await this.#inOrder(async () => await this.#actions.edit(group, seq, text)))
  }

  /** Deletes one of our messages for everyone; its text leaves this history too. */
  async delete (id: string, seq: number): Promise<MessageView> {
    const group = this.#group(id)
    return await this.#messageView(id, await this.#inOrder(async () => await this.#actions.delete(group, seq)))
  }

  /** Presses the button of `payload` under message `seq`: the message's author gets the press. */
  async press (id: string, seq: number, payload: string): Promise<MessageView> {
    const group = this.#group(id)
    return await this.#messageView(id, await this.#inOrder(async () => await this.#actions.press(group, seq, payload)))
  }

  /** The person saw the conversation: no unread left, and the other side of a contact is told. */
  async markRead (id: string): Promise<void> {
    const group = this.#group(id)
    const acknowledged = this.#history.acknowledgedSeq(id)
    const received = this.#history.receivedSeq(id)
    if (this.#history.unread(id) > 0) {
      await this.#history.markRead(id)
      this.#changed(group)
    }
    if (group.kind !== 'contact' || received <= acknowledged) return
    const newest = await this.#history.bySeq(id, received)
    if (newest?.messageId === undefined) return
    await this.#history.setAcknowledged(id, received)
    await group.acknowledge(newest.messageId)
  }

  /** Those of blocked accounts are left out, and pending. */
  requests (): RequestView[] {
    return this.#peer.contacts().filter((c) => c.state === 'incoming' && !this.blocks.has(c.account)).map((c) => requestView(c, this.#requestsSeen.get(c.account), this.#clock.now()))
  }

  async addContact (link: string, message?: string, options: AbortOptions = {}): Promise<Contact> {
    return await this.#peer.addContact(link, message === undefined || message === '' ? options : { ...options, message })
  }

  /** Accepts or declines a request; accepting returns the new conversation. */
  async answerRequest (account: string, accept: boolean): Promise<Group | undefined> {
    if (!this.requests().some((r) => r.account === account)) throw new ClientError('ERR_NO_REQUEST', 'no contact request from this account is waiting')
    let group: Group | undefined
    if (accept) {
      group = await this.#peer.acceptContact(account)
      this.#changed(group)
    } else {
      await this.#peer.declineContact(account)
    }
    this.emit('requests', this.requests())
    return group
  }

  async createGroup (name: string): Promise<Group> {
    const group = await this.#peer.createGroup({ name })
    this.#changed(group)
    return group
  }

  invitation (id: string): string {
    return this.#multiMember(id).invitation()
  }

  /** Sends the group's invitation to a contact, in their 1:1 conversation (where it shows as a message). */
  async invite (id: string, account: string): Promise<void> {
    const invitation = this.#multiMember(id).invitation()
    const contact = this.#peer.contacts().find((c) => c.account === account && c.state === 'accepted')
    if (contact?.group === undefined) throw new ClientError('ERR_NO_CONTACT', 'not one of your contacts')
    const messageId = await contact.group.sendInvitation(invitation)
    const groupName = this.#multiMember(id).name
    const conversation = contact.group.id
    const stored = await this.#history.append(conversation, {
      messageId,
      sender: { account: this.#peer.accountId, name: this.#peer.displayName ?? '', own: true },
      text: `Invitation to "${groupName}"`,
      invitation: { link: invitation, groupName },
      sentAt: this.#clock.now(),
      position: await contact.group.positionOf(messageId),
      state: 'pending'
    })
    this.emit('message', await this.#messageView(conversation, stored))
    this.#changed(contact.group)
  }

  async joinGroup (invitation: string, options: AbortOptions = {}): Promise<Group> {
    const group = await this.#peer.joinGroup(invitation, options)
    this.#changed(group)
    return group
  }

  async addReplica (id: string, link: string): Promise<void> {
    await this.#group(id).addReplica(link)
  }

  /** Accepted contacts, for "invite a contact". */
  contacts (): Array<{ account: string, name: string, conversation: string | undefined }> {
    return this.#peer.contacts().filter((c) => c.state === 'accepted').map((c) => ({ account: c.account, name: c.displayName, conversation: c.group?.id }))
  }

  /** Stops listening, lets sends in flight finish their step, closes the history. The peer is the caller's to stop. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#summaries.stop()
    this.#incoming.stop()
    await this.#eventWrites.onIdle()
    await this.#outgoing.idle()
    await this.#actionsOut.idle()
    await this.#history.close()
    this.removeAllListeners()
  }

  // Views

  #group (id: string): Group {
    const group = this.#peer.group(id)
    if (group === undefined) throw new ClientError('ERR_NO_CONVERSATION', 'no such conversation')
    return group
  }

  #multiMember (id: string): Group {
    const group = this.#group(id)
    if (group.kind !== 'multi-member') throw new ClientError('ERR_NOT_A_GROUP', 'this conversation is with a contact, not a group')
    return group
  }

  /** Runs a change to the history after the events' writes before it, so that none of them writes over another. */
  async #inOrder<T> (change: () => Promise<T>): Promise<T> {
    return await this.#eventWrites.add(change)
  }

  /** Tells listeners, a moment later, that a conversation's summary may have changed (`summary-timer.ts`). */
  #changed (group: Group): void {
    if (!this.#closed) this.#summaries.changed(group)
  }

  async #view (group: Group): Promise<ConversationView> {
    return await conversationView(this.#history, group, this.#peer.accountId)
  }

  async #messageView (conversation: string, message: StoredMessage): Promise<MessageView> {
    return await messageView(this.#history, conversation, message, this.#peer.accountId)
  }
}

export { ClientError }
export type { BlockedView, DeliveryState, FileToRead, FileToSend, NewMessage, OfferedCommand, StoredMessage }
