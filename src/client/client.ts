/**
 * What a person's client (the web page, the terminal) needs beside the peer:
 * conversations with their history on disk, unread counts, our messages'
 * delivery states, the commands a bot offers. It listens to the peer, writes
 * each event into the history before marking it handled (give it a peer made
 * with `delivery: 'manual'`, so a crash in between delivers the event again),
 * and sends through a write-ahead record, so a message typed is never lost:
 * written as `sending`, sealed, sent (`pending` until a peer of the group has
 * it, then `sent`), `seen` once the other side of a contact acknowledges it.
 *
 * Acknowledgements are sent in 1:1 conversations only, one for the newest
 * message when the person reads the conversation: in a group every member
 * acknowledging every message would multiply the log's entries.
 */
import { join } from 'node:path'
import { EventEmitter } from 'eventemitter3'
import PQueue from 'p-queue'
import { parseHelp } from '../framework/index.ts'
import {
  BertybotError, InvalidMessageError, MAX_TEXT_LENGTH, defaultLogger, namespaced, type AcknowledgementEvent, type Contact, type ContactRequestEvent,
  type Group, type GroupInvitationEvent, type HandedOverEvent, type Logger, type MessageEvent, type Peer, type SealedMessage
} from '../protocol/index.ts'
import { HistoryStore, type DeliveryState, type NewMessage, type OfferedCommand, type StoredMessage } from './history.ts'

/** Where in the data directory the history lives. */
const HISTORY_DIR = 'client-history'
/** The most messages a page of history may have. */
export const MAX_PAGE = 500
/** How long conversation summaries wait to be told, gathering the changes meanwhile. */
const SUMMARY_DELAY_MS = 50

export class ClientError extends BertybotError {
  constructor (code: 'ERR_NO_CONVERSATION' | 'ERR_NO_REQUEST' | 'ERR_NOT_A_GROUP' | 'ERR_NO_CONTACT' | 'ERR_MESSAGE_TOO_LONG' | 'ERR_EMPTY_MESSAGE', message: string) {
    super(code, message)
  }
}

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
}

export class ChatClient extends EventEmitter<ClientEvents> {
  readonly #peer: Peer
  readonly #history: HistoryStore
  readonly #logger: Logger
  /** Events are written one at a time, in the order the peer gives them. */
  readonly #incoming = new PQueue({ concurrency: 1 })
  /** Our sends in flight, so `close()` waits for them. */
  readonly #sending = new Set<Promise<void>>()
  /** Per group, the furthest position a peer of the group was handed this session. */
  readonly #handedUpTo = new Map<string, number>()
  /** What the requests' events said, which the contact list does not keep. */
  readonly #requestsSeen = new Map<string, { receivedAt: number, message: string | undefined }>()
  readonly #removeListeners: Array<() => void> = []
  /** Conversations whose summary is to be told, and the timer that tells them. */
  readonly #dirty = new Map<string, Group>()
  #summaryTimer: NodeJS.Timeout | undefined
  #closed = false

  private constructor (peer: Peer, history: HistoryStore, logger: Logger) {
    super()
    this.#peer = peer
    this.#history = history
    this.#logger = logger
  }

  static async open (options: ClientOptions): Promise<ChatClient> {
    const logger = namespaced(options.logger ?? defaultLogger(), 'client')
    const history = await HistoryStore.open(join(options.dataDir, HISTORY_DIR), logger)
    const client = new ChatClient(options.peer, history, logger)
    client.#listen()
    await client.#resumeSending()
    return client
  }

  get self (): { account: string, name: string, link: string } {
    return { account: this.#peer.accountId, name: this.#peer.displayName ?? '', link: this.#peer.contactLink() }
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
      sentAt: Date.now(),
      state: 'sending'
    })
    const view = await this.#messageView(id, stored)
    this.#track(this.#deliver(group, stored))
    this.#changed(group)
    return view
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

  requests (): RequestView[] {
    return this.#peer.contacts().filter((c) => c.state === 'incoming').map((c) => this.#requestView(c))
  }

  async addContact (link: string, message?: string): Promise<Contact> {
    return await this.#peer.addContact(link, message === undefined || message === '' ? {} : { message })
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
      sentAt: Date.now(),
      position: await contact.group.positionOf(messageId),
      state: 'pending'
    })
    this.emit('message', await this.#messageView(conversation, stored))
    this.#changed(contact.group)
  }

  async joinGroup (invitation: string): Promise<Group> {
    const group = await this.#peer.joinGroup(invitation)
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
    clearTimeout(this.#summaryTimer)
    for (const remove of this.#removeListeners) remove()
    await this.#incoming.onIdle()
    await Promise.allSettled([...this.#sending])
    await this.#history.close()
    this.removeAllListeners()
  }

  // Incoming

  #listen (): void {
    const on = <E extends MessageEvent | AcknowledgementEvent | GroupInvitationEvent | ContactRequestEvent>(
      name: 'message' | 'acknowledgement' | 'groupInvitation' | 'contactRequest', handle: (event: E) => Promise<void>
    ): void => {
      const listener = (event: E): void => {
        this.#incoming.add(async () => {
          if (this.#closed) return
          await handle(event)
          await event.markHandled()
        }).catch((err: unknown) => { this.#logger.error({ err, event: name }, 'could not record an event in the history (it comes again at the next start)') })
      }
      this.#peer.on(name, listener as never)
      this.#removeListeners.push(() => { this.#peer.off(name, listener as never) })
    }
    on<MessageEvent>('message', async (e) => { await this.#received(e) })
    on<AcknowledgementEvent>('acknowledgement', async (e) => { await this.#acknowledged(e) })
    on<GroupInvitationEvent>('groupInvitation', async (e) => { await this.#invited(e) })
    on<ContactRequestEvent>('contactRequest', async (e) => {
      this.#requestsSeen.set(e.account, { receivedAt: e.receivedAt.getTime(), message: e.message })
      this.emit('requests', this.requests())
    })
    const plain = <K extends 'memberJoined' | 'contactAccepted'>(name: K): void => {
      const listener = (event: { group: Group, markHandled: () => Promise<void> }): void => {
        this.#changed(event.group)
        if (name === 'contactAccepted') this.emit('requests', this.requests())
        event.markHandled().catch((err: unknown) => { this.#logger.warn({ err }, 'could not mark an event handled') })
      }
      this.#peer.on(name, listener as never)
      this.#removeListeners.push(() => { this.#peer.off(name, listener as never) })
    }
    plain('memberJoined')
    plain('contactAccepted')
    const handedOver = (e: HandedOverEvent): void => { this.#handedOver(e) }
    this.#peer.on('handedOver', handedOver)
    this.#removeListeners.push(() => { this.#peer.off('handedOver', handedOver) })
  }

  async #received (e: MessageEvent): Promise<void> {
    const id = e.group.id
    // Written but not marked handled before a crash: the peer delivers it again.
    if (await this.#history.seqOf(id, e.id) !== undefined) return
    const stored = await this.#history.append(id, {
      messageId: e.id,
      sender: { account: e.sender.account, name: this.#nameOf(e.sender.account, e.sender.displayName), own: false },
      text: e.text,
      ...(e.replyTo === undefined ? {} : { replyTo: e.replyTo }),
      sentAt: e.sentAt.getTime()
    })
    const commands = parseHelp(e.text)
    if (commands !== undefined) await this.#history.setCommands(id, commands)
    this.emit('message', await this.#messageView(id, stored))
    this.#changed(e.group)
  }

  async #invited (e: GroupInvitationEvent): Promise<void> {
    const id = e.group.id
    if (await this.#history.seqOf(id, e.id) !== undefined) return
    const stored = await this.#history.append(id, {
      messageId: e.id,
      sender: { account: e.sender.account, name: this.#nameOf(e.sender.account, e.sender.displayName), own: false },
      text: `Invitation to "${e.groupName}"`,
      invitation: { link: e.invitation, groupName: e.groupName },
      sentAt: e.sentAt.getTime()
    })
    this.emit('message', await this.#messageView(id, stored))
    this.#changed(e.group)
  }

  /** The other side saw our message `target`: it and every earlier one of ours are seen. */
  async #acknowledged (e: AcknowledgementEvent): Promise<void> {
    const id = e.group.id
    if (e.sender.account === this.#peer.accountId) return
    const seq = await this.#history.seqOf(id, e.target)
    if (seq === undefined) return
    const before = await this.#history.setSeen(id, seq)
    if (seq <= before) return
    const changed = await this.#history.page(id, { before: seq + 1, limit: Math.min(seq - before, MAX_PAGE) })
    for (const message of changed.messages) {
      if (message.state === 'seen') this.emit('message', await this.#messageView(id, message))
    }
    this.#changed(e.group)
  }

  // Sending

  #track (work: Promise<void>): void {
    this.#sending.add(work)
    void work.finally(() => { this.#sending.delete(work) })
  }

  /** Seals (kept in the record, so a crash resends it), sends, and records where it went. */
  async #deliver (group: Group, message: StoredMessage): Promise<void> {
    const id = group.id
    try {
      const sealedNow = message.sealed === undefined
      let sealed: SealedMessage
      if (message.sealed === undefined) {
        sealed = await group.seal({ text: message.text, replyTo: message.replyTo })
        await this.#history.update(id, message.seq, { sealed: Buffer.from(sealed.bytes).toString('base64') })
      } else {
        sealed = { group: id, bytes: new Uint8Array(Buffer.from(message.sealed, 'base64')) }
      }
      const messageId = await group.sendSealed(sealed, { mayBeSent: !sealedNow })
      const position = await group.positionOf(messageId)
      const handed = position !== undefined && position <= (this.#handedUpTo.get(id) ?? -1)
      await this.#setState(group, message.seq, { messageId, position, state: handed ? 'sent' : 'pending', sealed: undefined })
    } catch (err) {
      if (err instanceof InvalidMessageError) {
        await this.#setState(group, message.seq, { state: 'failed', sealed: undefined })
        return
      }
      // Still `sending` on disk (sealed, if it got that far): the next start sends it.
      if (!this.#closed) this.#logger.warn({ err, conversation: id }, 'could not send a message yet; it is sent at the next start')
    }
  }

  async #setState (group: Group, seq: number, change: Partial<StoredMessage>): Promise<void> {
    const updated = await this.#history.update(group.id, seq, change)
    if (updated !== undefined && !this.#closed) {
      this.emit('message', await this.#messageView(group.id, updated))
      this.#changed(group)
    }
  }

  /** At start: what was typed and not sent goes out; what was sent waits to be handed over. */
  async #resumeSending (): Promise<void> {
    for (const id of this.#history.conversations()) {
      const group = this.#peer.group(id)
      if (group === undefined) continue
      for (const message of await this.#history.unsent(id)) {
        if (message.state === 'sending') this.#track(this.#deliver(group, message))
      }
    }
  }

  #handedOver (e: HandedOverEvent): void {
    const id = e.group.id
    if (e.upTo <= (this.#handedUpTo.get(id) ?? -1)) return
    this.#handedUpTo.set(id, e.upTo)
    this.#incoming.add(async () => {
      for (const message of await this.#history.unsent(id)) {
        if (message.state === 'pending' && message.position !== undefined && message.position <= e.upTo) {
          await this.#setState(e.group, message.seq, { state: 'sent' })
        }
      }
    }).catch((err: unknown) => { this.#logger.warn({ err }, 'could not record a delivery') })
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

  /**
   * Tells listeners a conversation's summary may have changed: once per
   * group per `SUMMARY_DELAY_MS`, so a catch-up of thousands of messages
   * sends a few summaries, not one per message.
   */
  #changed (group: Group): void {
    if (this.#closed) return
    this.#dirty.set(group.id, group)
    this.#summaryTimer ??= setTimeout(() => {
      this.#summaryTimer = undefined
      const groups = [...this.#dirty.values()]
      this.#dirty.clear()
      for (const dirty of groups) {
        this.#view(dirty).then((view) => { if (!this.#closed) this.emit('conversation', view) }, (err: unknown) => {
          if (!this.#closed) this.#logger.warn({ err }, 'could not read a conversation')
        })
      }
    }, SUMMARY_DELAY_MS)
  }

  async #view (group: Group): Promise<ConversationView> {
    const last = await this.#history.last(group.id)
    return {
      id: group.id,
      kind: group.kind === 'contact' ? 'contact' : 'group',
      name: group.name,
      unread: this.#history.unread(group.id),
      last: last === undefined ? undefined : await this.#messageView(group.id, last),
      members: group.members().length,
      commands: this.#history.commands(group.id)
    }
  }

  async #messageView (conversation: string, message: StoredMessage): Promise<MessageView> {
    const { seq, messageId, sender, text, replyTo, invitation, sentAt, state } = message
    let reply: MessageView['replyTo']
    if (replyTo !== undefined) {
      const target = await this.#history.byMessageId(conversation, replyTo)
      reply = { messageId: replyTo, sender: target === undefined ? undefined : target.sender.own ? 'You' : target.sender.name, text: target?.text.slice(0, 300) }
    }
    return { conversation, seq, messageId, sender, text, replyTo: reply, invitation, sentAt, state }
  }

  /** A person's name: the one they gave, else the one they have as our contact, else the start of their account id. */
  #nameOf (account: string, given: string | undefined): string {
    if (given !== undefined && given !== '') return given
    const contact = this.#peer.contact(account)
    if (contact !== undefined && contact.displayName !== '') return contact.displayName
    return `someone (${account.slice(0, 8)})`
  }

  #requestView (contact: Contact): RequestView {
    const seen = this.#requestsSeen.get(contact.account)
    return {
      account: contact.account,
      name: contact.displayName === '' ? `someone (${contact.account.slice(0, 8)})` : contact.displayName,
      ...(seen?.message === undefined || seen.message === '' ? {} : { message: seen.message }),
      receivedAt: seen?.receivedAt ?? Date.now()
    }
  }
}

export type { DeliveryState, NewMessage, OfferedCommand, StoredMessage }
