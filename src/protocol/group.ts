/**
 * An open group, as the peer hands it out: one conversation, whatever its
 * epochs. Its members, its admins and what this device sends are those of the
 * current epoch (`group-epochs.ts`); what arrives in any epoch held is
 * delivered under the group's id. Each epoch is `group-epoch.ts`'s.
 */
import { AbortError, type AbortOptions } from './abort.ts'
import { AppMessageType } from './app-messages.ts'
import { idToKey, keyToId } from './encoding.ts'
import { MetadataEventType } from './envelope.ts'
import { EpochChangedError, InvalidMessageError, InvalidOptionError, NotRunningError, RemovedFromGroupError } from './errors.ts'
import type { FileSource } from './file-store.ts'
import type { GroupDeps } from './group-deps.ts'
import type { Epoch } from './group-epoch.ts'
import { GroupEpochs } from './group-epochs.ts'
import { sendFile } from './group-files.ts'
import { decodeInvitation, encodeInvitation, type GroupKind } from './group-keys.ts'
import type { Group, GroupSendOptions, SealedMessage, SendFileOptions } from './handles.ts'
import { HandOvers } from './handovers.ts'
import type { Logger } from './logger.ts'
import type { Member } from './membership.ts'
import { checkOutgoing, toAppMessage, type OutgoingMessage } from './outgoing-message.ts'
import { askReplica, decodeReplicaLink, ReplicationError } from './replication.ts'
import type { GroupRecord } from './state-records.ts'

export type { GroupDeps } from './group-deps.ts'

/**
 * Positions (`positionOf`, `handedOver`) are clock times in an epoch's log,
 * each epoch's above the one's before it, so that they compare across epochs.
 */
const EPOCH_POSITIONS = 2 ** 32

/** A group as this peer has it open: its epochs, and what goes through the current one. */
export class OpenGroup implements Group {
  /** The group id: its first epoch's group key, as a string. */
  readonly id: string
  readonly kind: GroupKind
  readonly #record: GroupRecord
  readonly #deps: GroupDeps
  readonly #logger: Logger
  readonly #epochs: GroupEpochs
  #closed = false

  private constructor (deps: GroupDeps, record: GroupRecord) {
    this.#deps = deps
    this.#record = record
    this.id = keyToId(record.root ?? record.pk)
    this.kind = record.kind
    this.#logger = deps.logger.child({ group: this.id })
    this.#epochs = new GroupEpochs(deps, {
      group: this,
      record,
      logger: this.#logger,
      hints: () => [...this.#record.hints, ...this.replicas().flatMap((replica) => replica.addresses)],
      name: () => this.name,
      onChanged: () => { if (!this.#closed) this.#deps.events.emit('groupChanged', { group: this }) }
    })
  }

  /**
   * Opens a group the peer holds: its epochs, its members, its pending messages.
   * A newcomer's wait to hear from a member ends with `AbortError` when
   * `signal` aborts; what was opened is closed again, and nothing was posted.
   */
  static async open (deps: GroupDeps, record: GroupRecord, options: { creating?: boolean } & AbortOptions = {}): Promise<OpenGroup> {
    const group = new OpenGroup(deps, record)
    deps.sync.on('peer', group.#onSyncPeer)
    deps.sync.on('handedOver', group.#onHandedOver)
    try {
      await group.#epochs.open({ creating: options.creating === true, signal: options.signal })
    } catch (err) {
      if (err instanceof AbortError) await group.close().catch((closing: unknown) => { group.#logger.warn({ err: closing }, 'a group whose opening was aborted did not close cleanly') })
      throw err
    }
    return group
  }

  /** The group's name: as its members last set it, or as the invitation gave it; for a contact group, the contact's name. */
  get name (): string {
    if (this.#record.contact !== undefined) {
      return this.#current.membership.member(keyToId(this.#record.contact))?.displayName ?? this.#record.name
    }
    for (const epoch of [this.#current, ...[...this.#epochs.list].reverse()]) if (epoch.groupName !== undefined) return epoch.groupName
    return this.#record.name
  }

  /** Contact groups: the contact's account id. */
  get contact (): string | undefined {
    return this.#record.contact === undefined ? undefined : keyToId(this.#record.contact)
  }

  /** The current epoch's two OrbitDB addresses; any OrbitDB peer with `GroupAccessController` registered can replicate them, and read nothing. */
  get logAddresses (): { metadata: string, messages: string } {
    return { metadata: this.#current.metadata.address, messages: this.#current.messages.address }
  }

  /** The current epoch's id: the group's id until a member is first removed. */
  get epoch (): string {
    return this.#current.id
  }

  /** Whether this peer was removed from the group (then it reads what was sent before, and sends nothing). */
  get removed (): boolean {
    return this.#epochs.removed
  }

  /** @internal Whether this peer left the group: it stays open only until a member has its leave. */
  get leaving (): boolean {
    return this.#epochs.leftByUs
  }

  /** The invitation link: whoever holds it can join the current epoch (it carries its secret). */
  invitation (): string {
    if (this.kind !== 'multi-member') throw new InvalidOptionError('only multi-member groups have invitations')
    if (this.removed) throw new RemovedFromGroupError(`this peer is no longer in group ${this.id}`)
    const keys = this.#current.keys
    return encodeInvitation({ keys, name: this.name, hints: this.#deps.multiaddrs(), root: this.#current.id === this.id ? undefined : idToKey(this.id) })
  }

  /** The replicas keeping this group's logs, as members announced them (in any epoch). */
  replicas (): Array<{ peerId: string, addresses: string[] }> {
    const replicas = new Map<string, string[]>()
    for (const epoch of this.#epochs.list) for (const [peerId, addresses] of epoch.replicas) replicas.set(peerId, addresses)
    return [...replicas].map(([peerId, addresses]) => ({ peerId, addresses }))
  }

  /**
   * Asks a replica (`bertybot replica` prints its link) to keep this group's
   * logs, those of every epoch this peer holds, so members get messages while
   * everyone else is offline. It receives each epoch's group key, public
   * signing key and link key: it can verify and serve entries, not read or
   * write them, and follows the group to its next epochs; it learns no
   * account (each epoch's group key signs the request). Members learn of it
   * from the group. An abort before the replica answered rejects with
   * `AbortError` (the replica may have taken the group all the same).
   */
  async addReplica (link: string, options: AbortOptions = {}): Promise<void> {
    if (this.#closed) throw new NotRunningError(`group ${this.id} is closed`)
    const replica = decodeReplicaLink(link)
    const { libp2p, state } = this.#deps
    let peer = ''
    for (const { keys } of this.#epochs.list) {
      if (keys.linkKeySig === undefined) throw new ReplicationError('this group has no signed link key to give a replica')
      peer = await askReplica(libp2p, replica, { pk: keys.publicKey, signPub: keys.signing.publicKey, linkKey: keys.linkKey, linkKeySig: keys.linkKeySig }, keys.signing, options)
    }
    await state.addGroupPeer(this.id, peer)
    await this.#current.sender.postMetadata(MetadataEventType.GroupReplicating, { peer, hints: replica.hints })
  }

  /** Members of the current epoch, this peer included, with their roles. */
  members (): Member[] {
    return this.#current.members()
  }

  /** Account ids of the admins (none in a contact group, nor in a group made before roles). */
  admins (): string[] {
    return [...this.#current.roles.admins]
  }

  async authorOf (messageId: string): Promise<string | undefined> {
    return await this.#current.authorOf(messageId)
  }

  /**
   * Removes a member (admins only): the group moves to a new epoch that the
   * member is not in. Resolves once it has; throws `NotAdminError` if this
   * peer is not an admin.
   */
  async removeMember (account: string): Promise<void> {
    const key = this.#memberKey(account)
    if (account === this.#own) throw new InvalidOptionError('to leave a group, use leave()')
    await this.#epochs.startEpoch([key], false)
  }

  /** Makes a member an admin (admins only). */
  async grantAdmin (account: string): Promise<void> {
    await this.#changeRole(account, true)
  }

  /** Takes the admin role from a member, this peer included (admins only). */
  async revokeAdmin (account: string): Promise<void> {
    await this.#changeRole(account, false)
  }

  /**
   * Leaves the group: the others move to a new epoch without this peer, which
   * forgets the group's keys. It leaves `peer.groups()` at once; the peer
   * keeps the group's logs only until one of the others has the leave.
   */
  async leave (): Promise<void> {
    if (this.kind !== 'multi-member') throw new InvalidOptionError('a contact conversation cannot be left')
    if (!this.removed) {
      const epoch = this.#current
      const entry = await this.#epochs.startEpoch([this.#deps.identity.account.publicKey], true)
      this.#leave = entry === undefined ? undefined : { address: epoch.metadata.address, time: entry.clock.time }
    }
    this.#deps.onLeft(this)
  }

  /**
   * @internal Resolves once this peer's leave reached another peer of the
   * group (a member, or a replica), at once if nobody else was there to tell;
   * rejects with `NotRunningError` if the group closes first (the peer stops:
   * it goes on at the next start).
   */
  async whenLeft (): Promise<void> {
    const target = this.#leave ?? this.#epochs.pendingLeave()
    if (target !== undefined) await this.#handOvers.until(target.address, target.time)
  }

  /** Sends a message of any kind; resolves with its id once it is in the log (`Group.send`: aborts, `once`). */
  async send (message: OutgoingMessage, options: GroupSendOptions = {}): Promise<string> {
    return await this.#sending.sender.send(this.#appMessage(message), options.signal, options.once)
  }

  forgetSent (keys: readonly string[]): void {
    if (keys.length > 0) this.#deps.state.forgetSentOnce(this.id, keys)
  }

  /** Its counter is spent now, so sealing is never undone; sending the same sealed message twice sends it once. */
  async seal (message: OutgoingMessage): Promise<SealedMessage> {
    return (await this.sealMany([message]))[0] as SealedMessage
  }

  /** The chain moves on by all of them in one write, for an outbox that sends in batches. */
  async sealMany (messages: readonly OutgoingMessage[]): Promise<SealedMessage[]> {
    const epoch = this.#sending
    return this.#epochs.sealedBy(epoch, await epoch.sender.seal(messages.map((message) => this.#appMessage(message))))
  }

  /** `options.mayBeSent: false` skips the look for it in the log, for the first try of a message sealed in this session. */
  async sendSealed (sealed: SealedMessage, options: { mayBeSent?: boolean } = {}): Promise<string> {
    return (await this.sendSealedMany([sealed], options))[0] as string
  }

  /**
   * Sends sealed messages in order, in one append. One sealed for an epoch the
   * group has left is not sent there (the member removed could read it):
   * unless it is in that epoch's log already, this throws `EpochChangedError`,
   * and the message is to be sealed again.
   */
  async sendSealedMany (sealed: SealedMessage[], options: { mayBeSent?: boolean } = {}): Promise<string[]> {
    if (this.#closed) throw new NotRunningError(`group ${this.id} is closed`)
    const foreign = sealed.find((message) => message.group !== this.id)
    if (foreign !== undefined) throw new InvalidMessageError(`this message was sealed for group ${foreign.group}`)
    if (sealed.length === 0) return []
    const current = this.#sending
    const stale = sealed.filter((message) => this.#epochs.epochOf(message.bytes) !== current)
    if (stale.length === 0) return await current.sender.sendSealed(sealed, options.mayBeSent !== false)
    const ids: string[] = []
    for (const message of sealed) {
      const epoch = this.#epochs.epochOf(message.bytes)
      const id = epoch === current || epoch === undefined ? undefined : (await epoch.sender.findSent([message]))[0]
      if (id === undefined) throw new EpochChangedError(`a message sealed before group ${this.id} moved to a new epoch: seal it again`)
      ids.push(id)
    }
    return ids
  }

  /** Undefined when no log of the group holds it. */
  async positionOf (messageId: string): Promise<number | undefined> {
    for (const [i, epoch] of this.#epochs.list.entries()) {
      const entry = await epoch.messages.get(messageId)
      if (entry !== undefined) return i * EPOCH_POSITIONS + entry.clock.time
    }
    return undefined
  }

  /** Tells the group a message was received (Berty's acknowledgement). */
  async acknowledge (messageId: string): Promise<string> {
    return await this.#sending.sender.send({ type: AppMessageType.Acknowledge, target: messageId, sentAt: this.#deps.now() })
  }

  /** Sends a group invitation link as a message (typically in a contact's 1:1 group). */
  async sendInvitation (invitation: string): Promise<string> {
    decodeInvitation(invitation)
    return await this.#sending.sender.send({ type: AppMessageType.GroupInvitation, invitation, sentAt: this.#deps.now() })
  }

  /** Stores a file and sends it in a message (`group-files.ts`); resolves with the message's id. */
  async sendFile (source: FileSource, options: SendFileOptions, abort: AbortOptions = {}): Promise<string> {
    return await sendFile(this, this.#deps.files, source, options, abort)
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const { sync } = this.#deps
    sync.off('peer', this.#onSyncPeer)
    sync.off('handedOver', this.#onHandedOver)
    this.#handOvers.close()
    await this.#epochs.close()
  }

  /** @internal The ids under which each epoch's state is kept (to forget them once left). */
  stateIds (): string[] {
    return this.#epochs.list.map((epoch) => epoch.id)
  }

  /** Where this peer's leave, posted in this session, is: what to see handed over. */
  #leave: { address: string, time: number } | undefined
  readonly #handOvers = new HandOvers()

  get #own (): string {
    return keyToId(this.#deps.identity.account.publicKey)
  }

  get #current (): Epoch {
    return this.#epochs.current
  }

  /** The epoch this peer sends to; it sends nothing once removed. */
  get #sending (): Epoch {
    if (this.removed) throw new RemovedFromGroupError(`this peer is no longer in group ${this.id}`)
    return this.#current
  }

  #memberKey (account: string): Uint8Array {
    if (this.kind !== 'multi-member') throw new InvalidOptionError('a contact conversation has no admins and no one to remove')
    const key = idToKey(account)
    if (key === undefined) throw new InvalidOptionError(`"${String(account).slice(0, 60)}" is not an account id`)
    return key
  }

  async #changeRole (account: string, grant: boolean): Promise<void> {
    const key = this.#memberKey(account)
    if (this.removed) throw new RemovedFromGroupError(`this peer is no longer in group ${this.id}`)
    await this.#epochs.changeRole(key, grant)
  }

  readonly #onSyncPeer = (address: string, peerId: string): void => {
    if (!this.#epochs.list.some((epoch) => epoch.metadata.address === address || epoch.messages.address === address)) return
    this.#deps.state.addGroupPeer(this.id, peerId).catch((err: unknown) => { this.#logger.warn({ err }, 'could not remember a group peer') })
  }

  readonly #onHandedOver = (address: string, upTo: number): void => {
    const epochs = this.#epochs.list
    if (!epochs.some((epoch) => epoch.metadata.address === address || epoch.messages.address === address)) return
    this.#handOvers.record(address, upTo)
    const i = epochs.findIndex((epoch) => epoch.messages.address === address)
    if (i !== -1) this.#deps.events.emit('handedOver', { group: this, upTo: i * EPOCH_POSITIONS + upTo })
  }

  /** Checked at once, so that a bad message fails its caller rather than a receiver. */
  #appMessage (message: OutgoingMessage): ReturnType<typeof toAppMessage> {
    return toAppMessage(checkOutgoing(message), this.#deps.now())
  }
}
