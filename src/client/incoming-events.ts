/**
 * The peer's events, written into the client's history: messages and
 * invitations from others (with their format, buttons and files), their
 * reactions, edits and deletions, acknowledgements of ours (which make them
 * `seen`), contact requests, members joining. Each is written one at a time,
 * in the order the peer gives them, and marked handled only once written:
 * with a peer made with `delivery: 'manual'`, a crash in between delivers it
 * again. Button presses are for the message's author (a bot): a person's
 * client marks them handled and keeps nothing of them. What a blocked
 * account sends is marked handled and not written (`blocked-accounts.ts`);
 * its contact request goes on, as the request list leaves it out.
 */
import type PQueue from 'p-queue'
import { parseHelp } from '../framework/index.ts'
import type {
  AcknowledgementEvent, ButtonPressedEvent, ContactRequestEvent, Group, GroupChangedEvent, GroupInvitationEvent, HandedOverEvent, Logger, MessageDeletedEvent,
  MessageEditedEvent, MessageEvent, Peer, PeerEvents, ReactionEvent, ReceivedFile
} from '../protocol/index.ts'
import { MAX_PAGE, type HistoryStore, type StoredMessage } from './history.ts'
import type { MessageChange, StoredFile } from './history-records.ts'
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
  /** Whether the person blocked this account. */
  blocked: (account: string) => boolean
  /** True once the client is closed: what is still queued is left for the next start. */
  closed: () => boolean
}

type ChangeEvent = ReactionEvent | MessageEditedEvent | MessageDeletedEvent
type WrittenEvent = MessageEvent | AcknowledgementEvent | GroupInvitationEvent | ContactRequestEvent | ChangeEvent | ButtonPressedEvent
type WrittenName = 'message' | 'acknowledgement' | 'groupInvitation' | 'contactRequest' | 'reaction' | 'messageEdited' | 'messageDeleted' | 'buttonPressed'

export class IncomingEvents {
  readonly #deps: IncomingEventsDeps
  readonly #removeListeners: Array<() => void> = []

  constructor (deps: IncomingEventsDeps) {
    this.#deps = deps
  }

  start (): void {
    const { queue, logger } = this.#deps
    const on = <E extends WrittenEvent>(name: WrittenName, handle: (event: E) => Promise<void>): void => {
      const listener = (event: E): void => {
        queue.add(async () => {
          if (this.#deps.closed()) return
          if ('sender' in event && this.#deps.blocked(event.sender.account)) {
            logger.debug({ event: name, account: event.sender.account }, 'dropped: the account is blocked')
          } else {
            await handle(event)
          }
          await event.markHandled()
        }).catch((err: unknown) => { logger.error({ err, event: name }, 'could not record an event in the history (it comes again at the next start)') })
      }
      this.#listen(name, listener)
    }
    on<MessageEvent>('message', async (e) => { await this.#received(e) })
    on<AcknowledgementEvent>('acknowledgement', async (e) => { await this.#acknowledged(e) })
    on<GroupInvitationEvent>('groupInvitation', async (e) => { await this.#invited(e) })
    on<ContactRequestEvent>('contactRequest', async (e) => { this.#deps.requested(e) })
    on<ReactionEvent>('reaction', async (e) => {
      await this.#changed(e, { kind: 'reaction', account: e.sender.account, name: nameOf(this.#deps.peer, e.sender.account, e.sender.displayName), emoji: e.emoji, removed: e.removed })
    })
    on<MessageEditedEvent>('messageEdited', async (e) => {
      await this.#changed(e, { kind: 'edit', text: e.text, ...(e.format === 'markdown' ? { format: 'markdown' } : {}), ...(e.buttons.length === 0 ? {} : { buttons: rows(e.buttons) }), at: e.sentAt.getTime() })
    })
    on<MessageDeletedEvent>('messageDeleted', async (e) => {
      await this.#changed(e, { kind: 'deletion', at: e.sentAt.getTime(), ...(e.deletedBy === 'admin' ? { byAdmin: true } : {}) })
    })
    on<ButtonPressedEvent>('buttonPressed', async () => {})
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
    // Its admins may have changed: whether the person may delete others' messages there, too.
    this.#listen('groupChanged', (e: GroupChangedEvent): void => { this.#deps.changed(e.group) })
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
      sentAt: e.sentAt.getTime(),
      ...(e.format === 'markdown' ? { format: 'markdown' } : {}),
      ...(e.buttons.length === 0 ? {} : { buttons: rows(e.buttons) }),
      ...(e.files.length === 0 ? {} : { files: e.files.map(storedFile) })
    })
    const commands = parseHelp(e.text)
    if (commands !== undefined) await history.setCommands(id, commands)
    await this.#deps.shown(id, stored)
    this.#deps.changed(e.group)
  }

  /** A reaction, edit or deletion: applied to its message, or kept until the message comes. */
  async #changed (e: ChangeEvent, change: MessageChange): Promise<void> {
    const { history, logger } = this.#deps
    const id = e.group.id
    const applied = await history.applyTo(id, e.target, change)
    if (applied.outcome === 'unchanged') logger.debug({ conversation: id, target: e.target, why: applied.why }, `a ${change.kind} changed nothing`)
    if (applied.outcome !== 'changed') return
    await this.#deps.shown(id, applied.message)
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

/** A file's reference as the history keeps it: bytes in base64. */
export function storedFile (file: ReceivedFile | { reference: ReceivedFile['reference'] }): StoredFile {
  const { root, key, size, type, name, preview } = file.reference
  return { root, key: Buffer.from(key).toString('base64'), size, type, name, ...(preview === undefined ? {} : { preview: Buffer.from(preview).toString('base64') }) }
}

/** Buttons as plain rows (the event's are read-only). */
function rows (buttons: MessageEvent['buttons']): Array<Array<{ label: string, payload: string }>> {
  return buttons.map((row) => row.map(({ label, payload }) => ({ label, payload })))
}
