/**
 * The peer's events, written into the client's history: messages and
 * invitations from others, acknowledgements of ours (which make them `seen`),
 * contact requests, members joining. Each is written one at a time, in the
 * order the peer gives them, and marked handled only once written: with a
 * peer made with `delivery: 'manual'`, a crash in between delivers it again.
 */
import type PQueue from 'p-queue'
import { parseHelp } from '../framework/index.ts'
import type {
  AcknowledgementEvent, ContactRequestEvent, Group, GroupInvitationEvent, HandedOverEvent, Logger, MessageEvent, Peer, PeerEvents
} from '../protocol/index.ts'
import { MAX_PAGE, type HistoryStore, type StoredMessage } from './history.ts'
import { nameOf } from './views.ts'

export interface IncomingEventsDeps {
  peer: Peer
  history: HistoryStore
  logger: Logger
  /** Where the events are written, one at a time. */
  queue: PQueue
  /** A message was written into the history, or changed there. */
  shown: (conversation: string, message: StoredMessage) => Promise<void>
  /** A conversation's summary may have changed. */
  changed: (group: Group) => void
  /** A contact request came in. */
  requested: (event: ContactRequestEvent) => void
  /** A contact request was answered (ours, by them). */
  answered: () => void
  /** A peer of the group has our messages up to a point. */
  handedOver: (event: HandedOverEvent) => void
  /** True once the client is closed: what is still queued is left for the next start. */
  closed: () => boolean
}

type WrittenEvent = MessageEvent | AcknowledgementEvent | GroupInvitationEvent | ContactRequestEvent

export class IncomingEvents {
  readonly #deps: IncomingEventsDeps
  readonly #removeListeners: Array<() => void> = []

  constructor (deps: IncomingEventsDeps) {
    this.#deps = deps
  }

  start (): void {
    const { queue, logger } = this.#deps
    const on = <E extends WrittenEvent>(name: 'message' | 'acknowledgement' | 'groupInvitation' | 'contactRequest', handle: (event: E) => Promise<void>): void => {
      const listener = (event: E): void => {
        queue.add(async () => {
          if (this.#deps.closed()) return
          await handle(event)
          await event.markHandled()
        }).catch((err: unknown) => { logger.error({ err, event: name }, 'could not record an event in the history (it comes again at the next start)') })
      }
      this.#listen(name, listener)
    }
    on<MessageEvent>('message', async (e) => { await this.#received(e) })
    on<AcknowledgementEvent>('acknowledgement', async (e) => { await this.#acknowledged(e) })
    on<GroupInvitationEvent>('groupInvitation', async (e) => { await this.#invited(e) })
    on<ContactRequestEvent>('contactRequest', async (e) => { this.#deps.requested(e) })
    const plain = <K extends 'memberJoined' | 'contactAccepted'>(name: K): void => {
      this.#listen(name, (event: { group: Group, markHandled: () => Promise<void> }): void => {
        this.#deps.changed(event.group)
        if (name === 'contactAccepted') this.#deps.answered()
        event.markHandled().catch((err: unknown) => { logger.warn({ err }, 'could not mark an event handled') })
      })
    }
    plain('memberJoined')
    plain('contactAccepted')
    this.#listen('handedOver', (e: HandedOverEvent): void => { this.#deps.handedOver(e) })
  }

  stop (): void {
    for (const remove of this.#removeListeners.splice(0)) remove()
  }

  #listen <E>(name: keyof PeerEvents, listener: (event: E) => void): void {
    const { peer } = this.#deps
    peer.on(name, listener as never)
    this.#removeListeners.push(() => { peer.off(name, listener as never) })
  }

  async #received (e: MessageEvent): Promise<void> {
    const { history, peer } = this.#deps
    const id = e.group.id
    // Written but not marked handled before a crash: the peer delivers it again.
    if (await history.seqOf(id, e.id) !== undefined) return
    const stored = await history.append(id, {
      messageId: e.id,
      sender: { account: e.sender.account, name: nameOf(peer, e.sender.account, e.sender.displayName), own: false },
      text: e.text,
      ...(e.replyTo === undefined ? {} : { replyTo: e.replyTo }),
      sentAt: e.sentAt.getTime()
    })
    const commands = parseHelp(e.text)
    if (commands !== undefined) await history.setCommands(id, commands)
    await this.#deps.shown(id, stored)
    this.#deps.changed(e.group)
  }

  async #invited (e: GroupInvitationEvent): Promise<void> {
    const { history, peer } = this.#deps
    const id = e.group.id
    if (await history.seqOf(id, e.id) !== undefined) return
    const stored = await history.append(id, {
      messageId: e.id,
      sender: { account: e.sender.account, name: nameOf(peer, e.sender.account, e.sender.displayName), own: false },
      text: `Invitation to "${e.groupName}"`,
      invitation: { link: e.invitation, groupName: e.groupName },
      sentAt: e.sentAt.getTime()
    })
    await this.#deps.shown(id, stored)
    this.#deps.changed(e.group)
  }

  /** The other side saw our message `target`: it and every earlier one of ours are seen. */
  async #acknowledged (e: AcknowledgementEvent): Promise<void> {
    const { history, peer } = this.#deps
    const id = e.group.id
    if (e.sender.account === peer.accountId) return
    const seq = await history.seqOf(id, e.target)
    if (seq === undefined) return
    const before = await history.setSeen(id, seq)
    if (seq <= before) return
    const changed = await history.page(id, { before: seq + 1, limit: Math.min(seq - before, MAX_PAGE) })
    for (const message of changed.messages) {
      if (message.state === 'seen') await this.#deps.shown(id, message)
    }
    this.#deps.changed(e.group)
  }
}
