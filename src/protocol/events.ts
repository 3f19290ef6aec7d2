/**
 * What a peer tells its user, and how it hands it over.
 *
 * Every event that comes from a log entry carries `markHandled()`. Until it
 * is called the entry does not count as delivered: a restart delivers it
 * again. With `delivery: 'auto'` (the default) the peer calls it right after
 * the listeners ran; with `'manual'` the consumer calls it once its own work
 * is done (the bot framework does, after its handlers finish), so the point
 * up to which a log counts as delivered is the consumer's to move.
 *
 * Events that arrive while nobody listens yet (a restarted peer catching up
 * before the caller attached its listener) are held, in order, and handed to
 * the first listener.
 */
import { EventEmitter } from 'eventemitter3'
import type { AbortOptions } from './abort.ts'
import type { ButtonRows, MessageFormat } from './app-messages.ts'
import type { FileReference } from './file-reference.ts'
import type { Contact, Group } from './handles.ts'
import type { ChangedBy } from './message-authors.ts'

export interface Sender {
  /** Account id: the same for every device of that person or bot. */
  readonly account: string
  /** Device id of the sending device. */
  readonly device: string
  /** The name the sender gave itself in this group, if any. */
  readonly displayName: string | undefined
}

export interface Delivery {
  /** Records this event as handled, so a restart does not deliver it again. Idempotent. */
  markHandled: () => Promise<void>
}

export interface MessageEvent extends Delivery {
  readonly group: Group
  /** The message id: the hash of its log entry. */
  readonly id: string
  readonly sender: Sender
  readonly text: string
  readonly replyTo: string | undefined
  /** `'markdown'`: the text is the Markdown subset (bold, italic, code, code blocks, links), to render safely. */
  readonly format: MessageFormat
  /** Rows of buttons under the message (none: empty); `group.send({ kind: 'buttonPress', target: id, payload })` presses one. */
  readonly buttons: ButtonRows
  /** When the sender says it sent the message. */
  readonly sentAt: Date
  /** The files it carries (none for most messages). */
  readonly files: ReceivedFile[]
}

/** A file a received message carries: what its sender said of it, and its bytes on demand. */
export interface ReceivedFile {
  /** The name to show and save it as (no path parts). */
  readonly name: string
  /** Its media type, as its sender gave it. */
  readonly type: string
  /** Its size in bytes, as its message says (reading checks it). */
  readonly size: number
  /** Images: a small preview its sender gave, if any. */
  readonly preview: Uint8Array | undefined
  /** The root of its encrypted blocks. */
  readonly root: string
  /** What opens it (its key included): keep it to read the file later, with `peer.files.read(reference)`. */
  readonly reference: FileReference
  /**
   * Its bytes, fetched from whoever holds its blocks (the sender, members,
   * replicas) and decrypted as they come; the blocks fetched are kept.
   * Throws `FileReadError` when it cannot be read; waits for a peer that
   * holds it until `signal` aborts.
   */
  read: (options?: AbortOptions) => AsyncIterable<Uint8Array>
}

/** An emoji put on a message, or taken off it (`removed`). Anyone may react to any message. */
export interface ReactionEvent extends Delivery {
  readonly group: Group
  readonly id: string
  readonly sender: Sender
  /** The id of the message reacted to. */
  readonly target: string
  readonly emoji: string
  /** True when the sender takes this emoji off the message again. */
  readonly removed: boolean
  readonly sentAt: Date
}

/**
 * Its author changed a message: the new text, format and buttons replace the
 * old. An edit by anyone else is dropped (with a logged reason) and never
 * comes as an event.
 */
export interface MessageEditedEvent extends Delivery {
  readonly group: Group
  readonly id: string
  readonly sender: Sender
  /** The id of the message edited. */
  readonly target: string
  readonly text: string
  readonly format: MessageFormat
  readonly buttons: ButtonRows
  readonly sentAt: Date
}

/**
 * A message was deleted, by its author or, in a multi-member group, by one
 * of the group's admins (`deletedBy`). A deletion by anyone else is dropped
 * (with a logged reason).
 */
export interface MessageDeletedEvent extends Delivery {
  readonly group: Group
  readonly id: string
  /** Who deleted it: its author, or an admin (`deletedBy`). */
  readonly sender: Sender
  /** The id of the message deleted. */
  readonly target: string
  /** In what right `sender` deleted it: `'author'` (its own message) or `'admin'` (someone else's, as an admin of the group). */
  readonly deletedBy: ChangedBy
  readonly sentAt: Date
}

/**
 * Someone pressed a button under a message. The payload is what the presser
 * says it pressed: the message's author checks that it offered it.
 */
export interface ButtonPressedEvent extends Delivery {
  readonly group: Group
  readonly id: string
  readonly sender: Sender
  /** The id of the message the button is under. */
  readonly target: string
  readonly payload: string
  readonly sentAt: Date
}

export interface AcknowledgementEvent extends Delivery {
  readonly group: Group
  readonly id: string
  readonly sender: Sender
  /** The id of the message acknowledged. */
  readonly target: string
  readonly sentAt: Date
}

export interface GroupInvitationEvent extends Delivery {
  /** The group the invitation was sent in (a contact's 1:1 group, typically). */
  readonly group: Group
  readonly id: string
  readonly sender: Sender
  /** The invitation link, as `peer.joinGroup` takes it. */
  readonly invitation: string
  /** The invited group's name, as the invitation gives it. */
  readonly groupName: string
  readonly sentAt: Date
  /** Joins the invited group (as `peer.joinGroup` does, `signal` included). */
  accept: (options?: AbortOptions) => Promise<Group>
}

export interface MemberJoinedEvent extends Delivery {
  readonly group: Group
  /** The member's first device seen in the group. */
  readonly member: Sender
}

/**
 * Someone asks to become a contact. The request stays pending until `accept()`
 * or `decline()`, and is delivered again after a restart while it is;
 * `markHandled()` does not settle it.
 */
export interface ContactRequestEvent extends Delivery {
  /** The requester's account id. */
  readonly account: string
  readonly displayName: string
  readonly message: string | undefined
  readonly receivedAt: Date
  /** Accepts: both sides now share the contact group, returned here (as `peer.acceptContact` does, `signal` included). */
  accept: (options?: AbortOptions) => Promise<Group>
  decline: () => Promise<void>
}

/** A contact is established: on the responder when it accepts, on the requester when it sees the acceptance. */
export interface ContactAcceptedEvent extends Delivery {
  readonly contact: Contact
  /** The 1:1 group shared with the contact. */
  readonly group: Group
}

/**
 * Our messages in `group` up to position `upTo` (see `group.positionOf()`)
 * have reached at least one other peer of the group, a member or a replica,
 * which serves them to the rest. Not held nor marked handled: it says how far
 * sending got, and comes again after a restart.
 */
export interface HandedOverEvent {
  readonly group: Group
  readonly upTo: number
}

/** The peer opened a group: one it created or joined, a contact's, or one it held at start. Not held nor marked handled. */
export interface GroupOpenedEvent {
  readonly group: Group
}

/**
 * A group's admins may have changed, or the group moved to a new epoch (a
 * member was removed or left), or this peer was removed from it (`group.removed`).
 * Look at `group.members()`, `admins()`, `epoch`. Not held nor marked handled.
 */
export interface GroupChangedEvent {
  readonly group: Group
}

export interface PeerEvents {
  message: (event: MessageEvent) => void
  reaction: (event: ReactionEvent) => void
  messageEdited: (event: MessageEditedEvent) => void
  messageDeleted: (event: MessageDeletedEvent) => void
  buttonPressed: (event: ButtonPressedEvent) => void
  acknowledgement: (event: AcknowledgementEvent) => void
  groupInvitation: (event: GroupInvitationEvent) => void
  memberJoined: (event: MemberJoinedEvent) => void
  contactRequest: (event: ContactRequestEvent) => void
  contactAccepted: (event: ContactAcceptedEvent) => void
  handedOver: (event: HandedOverEvent) => void
  groupOpened: (event: GroupOpenedEvent) => void
  groupChanged: (event: GroupChangedEvent) => void
}

/** The events that come from log entries, held until listened to and marked handled. */
export type DeliverableEventName = Exclude<keyof PeerEvents, 'handedOver' | 'groupOpened' | 'groupChanged'>
type EventOf<K extends DeliverableEventName> = Parameters<PeerEvents[K]>[0]

export type DeliveryMode = 'auto' | 'manual'

/**
 * An EventEmitter that holds deliverable events until a listener is there,
 * and in `auto` mode marks each handled once its listeners have run.
 */
/** Events held per kind while nobody listens; past this the oldest wait for the next start instead. */
const MAX_HELD_PER_EVENT = 10_000

export class DeliveringEmitter extends EventEmitter<PeerEvents> {
  readonly #mode: DeliveryMode
  readonly #held = new Map<DeliverableEventName, Delivery[]>()
  readonly #onError: (err: unknown) => void
  #flushScheduled = false

  constructor (mode: DeliveryMode, onError: (err: unknown) => void) {
    super()
    this.#mode = mode
    this.#onError = onError
  }

  /** Hands an event to the listeners, or holds it until one is attached. */
  deliver<K extends DeliverableEventName>(name: K, event: EventOf<K>): void {
    const held = this.#held.get(name)
    if (held !== undefined || this.listenerCount(name) === 0) {
      const queue = held ?? []
      queue.push(event)
      // Dropped from memory only: never marked handled, so the next start delivers it.
      if (queue.length > MAX_HELD_PER_EVENT) queue.shift()
      this.#held.set(name, queue)
      this.#scheduleFlush()
      return
    }
    this.#emitNow(name, event)
  }

  override on<K extends keyof PeerEvents>(name: K, listener: EventEmitter.EventListener<PeerEvents, K>, context?: unknown): this {
    super.on(name, listener, context)
    this.#scheduleFlush()
    return this
  }

  override addListener<K extends keyof PeerEvents>(name: K, listener: EventEmitter.EventListener<PeerEvents, K>, context?: unknown): this {
    return this.on(name, listener, context)
  }

  override once<K extends keyof PeerEvents>(name: K, listener: EventEmitter.EventListener<PeerEvents, K>, context?: unknown): this {
    super.once(name, listener, context)
    this.#scheduleFlush()
    return this
  }

  #scheduleFlush (): void {
    if (this.#flushScheduled || this.#held.size === 0) return
    this.#flushScheduled = true
    queueMicrotask(() => {
      this.#flushScheduled = false
      for (const [name, queue] of this.#held) {
        while (queue.length > 0 && this.listenerCount(name) > 0) {
          this.#emitNow(name, queue.shift() as never)
        }
        if (queue.length === 0) this.#held.delete(name)
      }
    })
  }

  #emitNow<K extends DeliverableEventName>(name: K, event: EventOf<K>): void {
    try {
      (this.emit as (name: K, event: EventOf<K>) => boolean)(name, event)
    } catch (err) {
      // A throwing listener must not stop the peer; the entry stays unhandled, a restart delivers it again.
      this.#onError(err)
      return
    }
    if (this.#mode === 'auto') event.markHandled().catch(this.#onError)
  }
}
