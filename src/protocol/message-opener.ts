/**
 * Opens one entry of a group's message log (`message-pipeline.ts` walks the
 * log and settles what this says): its headers with the group secret, its
 * sender among the members, the message key from the sender's chain (or from
 * the box in its headers that shares that chain with us), its body, and the
 * app message inside. The outcome is what to deliver, or why it is settled
 * without delivery (ours, from before we joined, dropped with a reason), or
 * why it must wait (its sender's chain key has not reached us).
 */
import type { AbortOptions } from './abort.ts'
import { AppEvents, type PendingEvent } from './app-events.ts'
import { decodeAppMessage } from './app-messages.ts'
import type { ChainChanges, DeviceChains } from './device-chains.ts'
import { keyToId } from './encoding.ts'
import { openChainKeys, openMessageBody, openMessageHeaders, type MessageHeaders } from './envelope.ts'
import type { DropReason } from './errors.ts'
import type { Sender } from './events.ts'
import type { FileStore } from './file-store.ts'
import type { Group } from './handles.ts'
import type { GroupKeys } from './group-keys.ts'
import type { IdentityKeys } from './keystore.ts'
import { groupPayloadSchema } from './log-entry.ts'
import type { HashedEntry } from './log-order.ts'
import type { Membership } from './membership.ts'
import { MessageAuthors } from './message-authors.ts'
import { receiverChainFrom, takeMessageKey, type ReceiverChain } from './ratchet.ts'
import type { EntryStatus } from './state-records.ts'
import type { StateStore } from './state-store.ts'

export interface MessageOpenerDeps {
  group: Group
  /** Where the state of this log is kept: the id of the epoch it belongs to. */
  stateId: string
  /**
   * Whether to take an entry of `account`'s, who may have been removed from
   * this epoch (`epoch-closure.ts`): `wait` while that cannot be told yet.
   */
  admits: (account: string, entry: HashedEntry) => Promise<'admit' | 'refuse' | 'wait'>
  /** Account ids of this epoch's admins, as they stand now: an admin may delete anyone's message. */
  admins: () => ReadonlySet<string>
  keys: GroupKeys
  identity: IdentityKeys
  state: StateStore
  membership: Membership
  chains: DeviceChains
  joinGroup: (invitation: string, options?: AbortOptions) => Promise<Group>
  /** A sender's chain came in a message's headers: messages of that device that waited may open now. */
  chainInHeaders: (device: string) => void
  /** Where the files messages carry are read from. */
  files: Pick<FileStore, 'read'>
  /** True for an entry this peer appended (`GroupLog.appendedHere`): ours, settled without opening it. */
  appendedHere: (hash: string) => boolean
}

/** State changes an outcome commits: written in one batch, then mirrored in memory by `after`. */
type Changes = ChainChanges

/**
 * `author`: the account key to keep with the entry's status, for a message
 * only its author may edit or delete (and for history and waiting entries,
 * whose kind is not known yet).
 */
export type MessageOutcome =
  | ({ kind: 'deliver', changes: Changes, whenHandled: () => Changes, author: Uint8Array | undefined } & PendingEvent)
  | { kind: 'settle', status: Exclude<EntryStatus, 'handled' | 'waiting'>, reason?: DropReason, detail?: string, changes?: Changes, author?: Uint8Array | undefined }
  | { kind: 'defer', device: string, why: string, author?: Uint8Array | undefined }

export class MessageOpener {
  readonly #deps: MessageOpenerDeps
  readonly #groupId: string
  readonly #authors: MessageAuthors
  readonly #events: AppEvents

  constructor (deps: MessageOpenerDeps) {
    this.#deps = deps
    this.#groupId = deps.stateId
    this.#authors = new MessageAuthors({ statuses: deps.state.statuses, groupId: deps.stateId, ownAccount: keyToId(deps.identity.account.publicKey) })
    this.#events = new AppEvents({ authors: this.#authors, admins: deps.admins, joinGroup: deps.joinGroup, files: deps.files })
  }

  /** Who wrote message `hash` of this log, if it is one whose author is known (ours included). */
  async authorOf (hash: string): Promise<string | undefined> {
    return await this.#authors.of(hash)
  }

  /** Opens one entry: what to deliver, or why it is settled without delivery, or why it must wait. */
  async open (entry: HashedEntry): Promise<MessageOutcome> {
    const { identity, state, keys, membership, chains } = this.#deps
    const drop = (reason: DropReason, detail: string, changes?: Changes): MessageOutcome => {
      this.#authors.forget(entry.hash)
      return { kind: 'settle', status: 'dropped', reason, detail, ...(changes === undefined ? {} : { changes }) }
    }

    if (this.#deps.appendedHere(entry.hash)) return { kind: 'settle', status: 'own' }
    const payload = groupPayloadSchema.safeParse(entry.payload)
    if (!payload.success) return drop('malformed', 'payload is not an entry of ours')
    const opened = openMessageHeaders(keys.secret, payload.data.value)
    if (!opened.ok) return drop(opened.reason, opened.detail)
    const { headers, sealedBody } = opened
    const device = keyToId(headers.device)
    if (device === keyToId(identity.device.publicKey)) return { kind: 'settle', status: 'own' }
    const member = membership.memberOf(device)
    if (member === undefined) return { kind: 'defer', device, why: 'sender device not yet seen on the metadata log' }
    const admitted = await this.#deps.admits(member.account, entry)
    if (admitted === 'wait') return { kind: 'defer', device, why: 'its sender was removed: waiting for where the log stood then' }
    if (admitted === 'refuse') return drop('removed-member', `written by ${member.account} after it was removed`)
    // Kept with an entry whose kind cannot be told yet (history, waiting): it may be a message its author edits later.
    const author = membership.accountKey(member.account)
    const unread = (): Uint8Array | undefined => {
      if (author !== undefined) this.#authors.remember(entry.hash, member.account)
      return author
    }
    const chain = await chains.get(device) ?? this.#chainFromHeaders(device, headers)
    if (chain === undefined) return { kind: 'defer', device, why: 'no chain key from the sender yet', author: unread() }

    let messageKey: Uint8Array
    // What the key's use writes: before the message is delivered, once it is handled, or if it is dropped after all.
    let taken: { beforeDelivery: Changes, whenHandled: () => Changes, spent: Changes }
    const lookup = takeMessageKey(chain, headers.counter, keys.publicKey)
    switch (lookup.outcome) {
      case 'before-join': return { kind: 'settle', status: 'history', author: unread() }
      case 'out-of-window': return drop('counter-out-of-window', `counter ${headers.counter} is beyond the keys held for device ${device}`)
      case 'already-used': {
        // Decrypted before a restart and not yet handled: its key was kept for this.
        const kept = await state.messageKey(this.#groupId, entry.hash)
        if (kept === undefined) return drop('replayed-counter', `counter ${headers.counter} of device ${device} was already used`)
        messageKey = kept
        const forget: Changes = { ops: [state.delMessageKeyOp(this.#groupId, entry.hash)] }
        taken = { beforeDelivery: { ops: [] }, whenHandled: () => forget, spent: forget }
        break
      }
      case 'found': {
        messageKey = lookup.messageKey
        const { beforeDelivery, whenHandled } = chains.take(device, lookup.chain, headers.counter, messageKey, entry.hash)
        const spent: Changes = { ops: [chains.putOp(device, lookup.chain)], after: () => { chains.remember(device, lookup.chain) } }
        taken = { beforeDelivery, whenHandled, spent }
      }
    }
    // A body that does not open or verify does not consume the key: a member forging a
    // counter of someone else's chain must not be able to burn the real message's key.
    const body = openMessageBody(keys.publicKey, headers, messageKey, sealedBody)
    if (!body.ok) return drop(body.reason, body.detail)
    const decoded = decodeAppMessage(body.plaintext)
    // Signed by a member: the key is spent either way, but there is no message to keep it for.
    const { spent } = taken
    if (!decoded.ok) return drop(decoded.reason, decoded.detail, spent)
    const keyChanges = taken.beforeDelivery
    const whenHandled = taken.whenHandled

    const sender: Sender = { account: member.account, device, displayName: member.displayName }
    const made = await this.#events.eventOf(decoded.message, { group: this.#deps.group, id: entry.hash, sender, sentAt: new Date(decoded.message.sentAt) }, author, payload.data.files)
    if (made.kind === 'drop') return drop(made.reason, made.detail, spent)
    // Not a message its author may change (a reaction, an acknowledgement...): no author kept for it, as its status will have none.
    if (made.author === undefined) this.#authors.forget(entry.hash)
    return { kind: 'deliver', changes: keyChanges, whenHandled, name: made.name, event: made.event, author: made.author } as MessageOutcome
  }

  /**
   * The sender's chain from the box sealed to us in a message's headers (its
   * first message since we joined), if it carries one. Written with what the
   * message's key writes, like any chain moved on by a message; until then a
   * restart opens the box again.
   */
  #chainFromHeaders (device: string, headers: MessageHeaders): ReceiverChain | undefined {
    if (headers.chainKeys === undefined) return undefined
    const { identity, keys } = this.#deps
    const shared = openChainKeys(identity.account, headers.device, keys.publicKey, headers.chainKeys)
    if (shared === undefined) return undefined
    this.#deps.chainInHeaders(device)
    return receiverChainFrom(shared)
  }
}
