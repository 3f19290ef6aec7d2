/**
 * The group and the contact the peer hands out (`peer.group()`, events), as
 * interfaces: the event types and the parts below the peer name them without
 * importing the classes that implement them (`OpenGroup` in `group.ts`), so
 * that no import goes in a circle.
 */
import type { AbortOptions } from './abort.ts'
import type { FileReference } from './file-reference.ts'
import type { FileDescription, FileSource } from './file-store.ts'
import type { GroupKind } from './group-keys.ts'
import type { Member } from './membership.ts'
import type { OutgoingMessage, TextMessage } from './outgoing-message.ts'
import type { ContactState } from './state-records.ts'

/** A text message as `group.send()` takes it: the `text` kind of `OutgoingMessage` (with files stored by `peer.files.store()`, at most 10). */
export type SendOptions = TextMessage

/** A file to store and send (`group.sendFile()`): what it is, and the message it goes with. */
export interface SendFileOptions extends FileDescription {
  /** A text to go with it. */
  text?: string | undefined
  replyTo?: string | undefined
}

/** A message sealed for a group and not sent yet (`group.seal()`): store it, send it later, send it again safely. */
export interface SealedMessage {
  /** The group it was sealed for. */
  readonly group: string
  readonly bytes: Uint8Array
  /** The roots of the files its message carries, named outside the encryption when it is sent. */
  readonly files?: string[] | undefined
}

/**
 * A send that must happen once, whatever the tries (a durable outbox's): the
 * message's id is recorded under `key` with it, and a send under that key
 * with `mayBeSent` (a try after a crash or a failure) finds it and sends
 * nothing. `key` must never name another message in the group.
 */
export interface SendOnce {
  readonly key: string
  readonly mayBeSent: boolean
}

/** How `group.send()` sends: `signal` takes it out of the line while it waits, `once` makes trying again safe. */
export interface GroupSendOptions extends AbortOptions {
  readonly once?: SendOnce | undefined
}

/** A group this peer is in: a multi-member group, or a contact's 1:1 group. */
export interface Group {
  readonly id: string
  readonly kind: GroupKind
  /** The group's name: as its creator set it, or as the invitation gave it; for a contact group, the contact's name. */
  readonly name: string
  /** Contact groups: the contact's account id. */
  readonly contact: string | undefined
  /** The two OrbitDB addresses; any OrbitDB peer with `GroupAccessController` registered can replicate them, and read nothing. */
  readonly logAddresses: { metadata: string, messages: string }
  /** The invitation link: whoever holds it can join (it carries the group secret). Multi-member groups only. */
  invitation: () => string
  /** The replicas keeping this group's logs, as members announced them. */
  replicas: () => Array<{ peerId: string, addresses: string[] }>
  /** Asks a replica (`bertybot replica` prints its link) to keep this group's logs; `signal` stops waiting for its answer. */
  addReplica: (link: string, options?: AbortOptions) => Promise<void>
  /** Members as the metadata log knows them, this peer included, with their roles (`admin` or `member`). */
  members: () => Member[]
  /** Account ids of the admins: the creator first, then whom admins grant the role. None in a contact group. */
  admins: () => string[]
  /**
   * Removes a member (admins only): the group moves to a new epoch, with new
   * keys and logs shared with the members who stay; the member removed reads
   * nothing sent from then on, and what it writes is refused. Resolves once
   * this peer moved on. `NotAdminError` if this peer is not an admin.
   */
  removeMember: (account: string) => Promise<void>
  /** Makes a member an admin (admins only: `NotAdminError`). */
  grantAdmin: (account: string) => Promise<void>
  /** Takes the admin role from a member, this peer included (admins only: `NotAdminError`). */
  revokeAdmin: (account: string) => Promise<void>
  /**
   * Leaves a multi-member group: the others move to a new epoch without this
   * peer, and it forgets the group's keys (once a member has its leave). It
   * is gone from `peer.groups()` at once.
   */
  leave: () => Promise<void>
  /**
   * Who wrote a message of the current epoch that its author may edit or
   * delete (a text, ours included), if this peer knows; undefined for any
   * other entry, or one not here yet.
   */
  authorOf: (messageId: string) => Promise<string | undefined>
  /** The current epoch's id: the group's id until a member is first removed (or leaves). */
  readonly epoch: string
  /** True once this peer was removed from the group: it still reads what came before, and sends nothing (`RemovedFromGroupError`). */
  readonly removed: boolean
  /**
   * Sends a message of any kind (a text, `{ text: 'hi' }`; a reaction,
   * `{ kind: 'reaction', target, emoji: '👍' }`; an edit or deletion of one
   * of ours; a button press); resolves with its id once it is in the log
   * (other members get it as they sync). A message that is not well-formed
   * throws `InvalidMessageError`. `signal` takes it out of the line while it
   * waits behind others (`AbortError`, not sent); once it is written, it is sent.
   * `once` makes trying again safe (`SendOnce`).
   */
  send: (message: OutgoingMessage, options?: GroupSendOptions) => Promise<string>
  /** Forgets the records of sends under `keys` (`SendOnce`) that will not be tried again. */
  forgetSent: (keys: readonly string[]) => void
  /** Seals a message without sending it, for a durable outbox: keep the result, then `sendSealed()` it. */
  seal: (message: OutgoingMessage) => Promise<SealedMessage>
  /** Seals several messages at once, in order, as `seal()` does each. */
  sealMany: (messages: readonly OutgoingMessage[]) => Promise<SealedMessage[]>
  /** Sends a sealed message, unless it is already in the log (sent before a crash); resolves with its id. */
  sendSealed: (sealed: SealedMessage, options?: { mayBeSent?: boolean }) => Promise<string>
  /** Sends sealed messages, in order, in one append to the log; resolves with their ids. */
  sendSealedMany: (sealed: SealedMessage[], options?: { mayBeSent?: boolean }) => Promise<string[]>
  /** Where a message is in the message log (its clock time), for `handedOver` events. */
  positionOf: (messageId: string) => Promise<number | undefined>
  /** Tells the group a message was received (Berty's acknowledgement). */
  acknowledge: (messageId: string) => Promise<string>
  /** Sends a group invitation link as a message (typically in a contact's 1:1 group). */
  sendInvitation: (invitation: string) => Promise<string>
  /**
   * Stores a file (as `peer.files.store()` does) and sends it in a message;
   * resolves with the message's id. Members fetch it from whoever holds it.
   */
  sendFile: (source: FileSource, options: SendFileOptions, abort?: AbortOptions) => Promise<string>
}

export interface Contact {
  /** The contact's account id. */
  readonly account: string
  readonly displayName: string
  /**
   * `outgoing`: we asked; `incoming`: they asked, waiting for our answer; `accepted`: contacts;
   * `declined`: we said no; `refused`: our request was made with a link its owner has since reset.
   */
  readonly state: ContactState
  /** Outgoing requests: the responder holds the request. */
  readonly requestDelivered: boolean
  /** The 1:1 group, once there is one. */
  readonly group: Group | undefined
}

/** The peer's files (`peer.files`): stored encrypted in its blockstore, read from whoever holds them. */
export interface Files {
  /** The largest file stored or read, in bytes (`maxFileSize`, 25 MiB by default). */
  readonly maxFileSize: number
  /**
   * Encrypts and stores a file; resolves with the reference to send in a
   * message (`group.send({ text, files: [reference] })`). It stays staged,
   * and is deleted at the next start, until the message is in the log or
   * `keep()` is called. Throws `FileTooLargeError` past `maxFileSize`.
   */
  store: (source: FileSource, description: FileDescription, options?: AbortOptions) => Promise<FileReference>
  /** A file's bytes as they are fetched and decrypted; throws `FileReadError` when it cannot be read. */
  read: (reference: FileReference, options?: AbortOptions) => AsyncIterable<Uint8Array>
  /** Unstages stored files: something committed refers to them (a bot's outbox keeps the message), so they stay. */
  keep: (roots: Iterable<string>) => Promise<void>
  /** Deletes stored files no message will refer to. */
  discard: (roots: Iterable<string>) => Promise<void>
}
