/**
 * An open group: its two logs, who is in it, and what this device sends.
 *
 * Metadata log (WESH.md §2.5): applied by `MetadataLog` (`metadata-log.ts`),
 * read whole each time the group opens. This device announces itself there
 * (`MemberDeviceAdded`, with its chain key sealed to the members it knows);
 * members who join later get the key in the headers of its next message
 * (both written by `GroupSender`, `group-sender.ts`).
 *
 * Message log: turned into events by the `MessagePipeline`.
 */
import type { Libp2p } from '@libp2p/interface'
import { AbortError, throwIfAborted, type AbortOptions } from './abort.ts'
import { AppMessageType } from './app-messages.ts'
import { DeviceChains } from './device-chains.ts'
import { keyToId } from './encoding.ts'
import { MetadataEventType } from './envelope.ts'
import { DataDirectoryError, InvalidMessageError, InvalidOptionError, NotRunningError } from './errors.ts'
import type { DeliveringEmitter } from './events.ts'
import type { FileSource, FileStore } from './file-store.ts'
import type { Group, SealedMessage, SendFileOptions } from './handles.ts'
import { GroupConnector } from './group-connector.ts'
import { sendFile } from './group-files.ts'
import { GroupScans } from './group-scans.ts'
import { decodeInvitation, encodeInvitation, groupKeysFromParts, type GroupKeys, type GroupKind } from './group-keys.ts'
import { openGroupLogs, type GroupLog, type GroupLogDeps } from './group-log.ts'
import type { IdentityKeys } from './keystore.ts'
import type { LogSync } from './log-sync.ts'
import type { Logger } from './logger.ts'
import { Membership, type Member } from './membership.ts'
import { MessagePipeline } from './message-pipeline.ts'
import { MetadataLog } from './metadata-log.ts'
import { GroupSender } from './group-sender.ts'
import type { NodeServices } from './node.ts'
import { checkOutgoing, toAppMessage, type OutgoingMessage } from './outgoing-message.ts'
import { groupRendezvousCid } from './rendezvous.ts'
import { askReplica, decodeReplicaLink, ReplicationError } from './replication.ts'
import type { GroupRecord } from './state-records.ts'
import type { StateStore } from './state-store.ts'

/** What a group needs from its peer. */
export interface GroupDeps {
  identity: IdentityKeys
  state: StateStore
  logs: GroupLogDeps
  sync: LogSync
  libp2p: Libp2p<NodeServices>
  logger: Logger
  now: () => number
  displayName: string | undefined
  events: DeliveringEmitter
  joinGroup: (invitation: string, options?: AbortOptions) => Promise<Group>
  multiaddrs: () => string[]
  /** Told of every other account seen with a device in the group (contacts learn of acceptances this way). */
  onMemberSeen: (group: Group, account: string) => void
  /** The peer's files: what messages carry, stored and read. */
  files: FileStore
}

/** How long a newcomer waits to hear from a member before it joins without knowing anyone. */
const FIRST_SYNC_TIMEOUT_MS = 3_000

/** A group as this peer has it open: its logs, its pipeline, its sending. */
export class OpenGroup implements Group {
  /** The group id: its public key, as a string. */
  readonly id: string
  readonly kind: GroupKind
  readonly #keys: GroupKeys
  readonly #record: GroupRecord
  readonly #deps: GroupDeps
  readonly #logger: Logger
  readonly #membership = new Membership()
  /** Where the group's logs are read, one task at a time. */
  readonly #scans: GroupScans
  /** Other devices' chains (only `#scans` tasks touch them). */
  readonly #chains: DeviceChains
  #metadata!: GroupLog
  #messages!: GroupLog
  /** Reads the metadata log: members, chain keys, names, replicas. */
  #metadataLog!: MetadataLog
  #pipeline!: MessagePipeline
  /** What this device writes: its chain, its messages, its metadata entries. */
  #sender!: GroupSender
  #connector!: GroupConnector
  #closed = false

  private constructor (deps: GroupDeps, record: GroupRecord, keys: GroupKeys) {
    this.#deps = deps
    this.#record = record
    this.#keys = keys
    this.id = keyToId(keys.publicKey)
    this.kind = keys.kind
    this.#logger = deps.logger.child({ group: this.id })
    this.#chains = new DeviceChains(deps.state, this.id)
    this.#scans = new GroupScans({ metadata: async () => { await this.#scanMetadata() }, messages: async () => { await this.#pipeline.scan() } }, this.#logger, () => this.#closed)
  }

  /**
   * Opens a group the peer holds: its logs, its members, its pending messages.
   * A newcomer's wait to hear from a member ends with `AbortError` when
   * `signal` aborts; what was opened is closed again, and nothing was posted.
   */
  static async open (deps: GroupDeps, record: GroupRecord, options: { creating?: boolean } & AbortOptions = {}): Promise<OpenGroup> {
    const keys = groupKeysFromParts({ kind: record.kind, publicKey: record.pk, secret: record.secret, secretSig: record.secretSig, linkKeySig: record.linkKeySig })
    if (keys === undefined) throw new DataDirectoryError(`group ${keyToId(record.pk)} has keys that do not match its signatures`)
    const group = new OpenGroup(deps, record, keys)
    try {
      await group.#start(options.creating === true, options.signal)
    } catch (err) {
      if (err instanceof AbortError) await group.close().catch((closing: unknown) => { group.#logger.warn({ err: closing }, 'a group whose opening was aborted did not close cleanly') })
      throw err
    }
    return group
  }

  /** The group's name: as its creator set it, or as the invitation gave it; for a contact group, the contact's name. */
  get name (): string {
    if (this.#record.contact !== undefined) {
      return this.#membership.member(keyToId(this.#record.contact))?.displayName ?? this.#record.name
    }
    return this.#metadataLog.groupName ?? this.#record.name
  }

  /** Contact groups: the contact's account id. */
  get contact (): string | undefined {
    return this.#record.contact === undefined ? undefined : keyToId(this.#record.contact)
  }

  /** The two OrbitDB addresses; any OrbitDB peer with `GroupAccessController` registered can replicate them, and read nothing. */
  get logAddresses (): { metadata: string, messages: string } {
    return { metadata: this.#metadata.address, messages: this.#messages.address }
  }

  /** The invitation link: whoever holds it can join (it carries the group secret). */
  invitation (): string {
    if (this.kind !== 'multi-member') throw new InvalidOptionError('only multi-member groups have invitations')
    return encodeInvitation({ keys: this.#keys, name: this.name, hints: this.#deps.multiaddrs() })
  }

  /** The replicas keeping this group's logs, as members announced them. */
  replicas (): Array<{ peerId: string, addresses: string[] }> {
    return [...this.#metadataLog.replicas].map(([peerId, addresses]) => ({ peerId, addresses }))
  }

  /**
   * Asks a replica (`bertybot replica` prints its link) to keep this group's
   * logs, so members get messages while everyone else is offline. It receives
   * the group key, the public signing key and the link key: it can verify and
   * serve entries, not read or write them, and learns no account (the group's
   * key signs the request). Members learn of it from the group.
   * An abort before the replica answered rejects with `AbortError` (the
   * replica may have taken the group all the same).
   */
  async addReplica (link: string, options: AbortOptions = {}): Promise<void> {
    if (this.#closed) throw new NotRunningError(`group ${this.id} is closed`)
    const replica = decodeReplicaLink(link)
    const { linkKeySig } = this.#keys
    if (linkKeySig === undefined) throw new ReplicationError('this group has no signed link key to give a replica')
    const { libp2p, state } = this.#deps
    const group = { pk: this.#keys.publicKey, signPub: this.#keys.signing.publicKey, linkKey: this.#keys.linkKey, linkKeySig }
    const peer = await askReplica(libp2p, replica, group, this.#keys.signing, options)
    await state.addGroupPeer(this.id, peer)
    await this.#sender.postMetadata(MetadataEventType.GroupReplicating, { peer, hints: replica.hints })
  }

  /** Members as the metadata log knows them, this peer included. */
  members (): Member[] {
    return this.#membership.list()
  }

  /**
   * Sends a message of any kind; resolves with its id once it is in the log
   * (other members get it as they sync). An abort while it waits behind
   * others rejects it unsent; once it is being written, it is sent.
   */
  async send (message: OutgoingMessage, abort: AbortOptions = {}): Promise<string> {
    return await this.#sender.send(this.#appMessage(message), abort.signal)
  }

  /** Its counter is spent now, so sealing is never undone; sending the same sealed message twice sends it once. */
  async seal (message: OutgoingMessage): Promise<SealedMessage> {
    return (await this.sealMany([message]))[0] as SealedMessage
  }

  /** The chain moves on by all of them in one write, for an outbox that sends in batches. */
  async sealMany (messages: readonly OutgoingMessage[]): Promise<SealedMessage[]> {
    return await this.#sender.seal(messages.map((message) => this.#appMessage(message)))
  }

  /** `options.mayBeSent: false` skips the look for it in the log, for the first try of a message sealed in this session. */
  async sendSealed (sealed: SealedMessage, options: { mayBeSent?: boolean } = {}): Promise<string> {
    return (await this.sendSealedMany([sealed], options))[0] as string
  }

  async sendSealedMany (sealed: SealedMessage[], options: { mayBeSent?: boolean } = {}): Promise<string[]> {
    if (this.#closed) throw new NotRunningError(`group ${this.id} is closed`)
    const foreign = sealed.find((message) => message.group !== this.id)
    if (foreign !== undefined) throw new InvalidMessageError(`this message was sealed for group ${foreign.group}`)
    if (sealed.length === 0) return []
    return await this.#sender.sendSealed(sealed, options.mayBeSent !== false)
  }

  /** Undefined when the log does not hold it. */
  async positionOf (messageId: string): Promise<number | undefined> {
    return (await this.#messages.get(messageId))?.clock.time
  }

  /** Tells the group a message was received (Berty's acknowledgement). */
  async acknowledge (messageId: string): Promise<string> {
    return await this.#sender.send({ type: AppMessageType.Acknowledge, target: messageId, sentAt: this.#deps.now() })
  }

  /** Sends a group invitation link as a message (typically in a contact's 1:1 group). */
  async sendInvitation (invitation: string): Promise<string> {
    decodeInvitation(invitation)
    return await this.#sender.send({ type: AppMessageType.GroupInvitation, invitation, sentAt: this.#deps.now() })
  }

  /** Stores a file and sends it in a message (`group-files.ts`); resolves with the message's id. */
  async sendFile (source: FileSource, options: SendFileOptions, abort: AbortOptions = {}): Promise<string> {
    return await sendFile(this, this.#deps.files, source, options, abort)
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#pipeline.close()
    const { sync } = this.#deps
    sync.off('peer', this.#onSyncPeer)
    sync.off('handedOver', this.#onHandedOver)
    await this.#connector.stop()
    await this.#scans.idle()
    await this.#sender.idle()
    for (const log of [this.#metadata, this.#messages]) {
      sync.unregister(log.address)
      await log.close()
    }
  }

  // Start-up

  async #start (creating: boolean, signal: AbortSignal | undefined): Promise<void> {
    const { state, sync, libp2p } = this.#deps
    const logs = await openGroupLogs(this.#deps.logs, { groupKey: this.#keys.publicKey, signing: this.#keys.signing })
    this.#metadata = logs.metadata
    this.#messages = logs.messages
    this.#metadataLog = new MetadataLog({
      group: this,
      keys: this.#keys,
      identity: this.#deps.identity,
      state,
      log: this.#metadata,
      membership: this.#membership,
      chains: this.#chains,
      events: this.#deps.events,
      logger: this.#logger,
      contact: this.contact,
      onMemberSeen: (account) => { this.#deps.onMemberSeen(this, account) },
      onNewlyReadable: async (devices) => {
        // One read of who is waited for, rather than one per device: a group's whole metadata log is applied at each open.
        for (const device of await state.statuses.waitingDevices(this.id)) if (devices.has(device)) await this.#pipeline.retryWaiting(device)
      }
    })
    this.#pipeline = new MessagePipeline({
      group: this,
      keys: this.#keys,
      identity: this.#deps.identity,
      state,
      log: this.#messages,
      membership: this.#membership,
      chains: this.#chains,
      events: this.#deps.events,
      logger: this.#logger,
      joinGroup: this.#deps.joinGroup,
      rescan: () => { this.#scans.schedule('messages') },
      now: this.#deps.now,
      files: this.#deps.files
    })
    this.#sender = await GroupSender.open({
      groupId: this.id,
      keys: this.#keys,
      identity: this.#deps.identity,
      state,
      sync,
      membership: this.#membership,
      metadata: this.#metadata,
      messages: this.#messages,
      contactKey: this.#record.contact,
      displayName: this.#deps.displayName,
      now: this.#deps.now,
      closed: () => this.#closed,
      files: this.#deps.files
    })
    sync.on('peer', this.#onSyncPeer)
    sync.on('handedOver', this.#onHandedOver)
    this.#metadata.on('update', () => { this.#scans.schedule('metadata') })
    this.#messages.on('update', (entries) => {
      this.#pipeline.noteJoined(entries.map((entry) => entry.hash))
      this.#scans.schedule('messages')
    })
    sync.register(this.#metadata)
    sync.register(this.#messages)

    this.#connector = new GroupConnector({
      libp2p,
      logger: this.#logger,
      hints: () => [...this.#record.hints, ...[...this.#metadataLog.replicas.values()].flat()],
      knownPeers: async () => await state.groupPeers(this.id),
      ...(libp2p.services.dht === undefined ? {} : { rendezvous: await groupRendezvousCid(this.#keys.linkKey) })
    })
    this.#connector.start()

    await this.#scans.run(async () => { await this.#scanMetadata() })
    // A newcomer first learns who is there, so that it joins in one entry that
    // carries its chain key sealed to each of them; with nobody to answer, it joins alone.
    if (!creating && !this.#metadataLog.ownDeviceAnnounced) {
      await sync.whenSynced(this.#metadata.address, FIRST_SYNC_TIMEOUT_MS, { signal })
      // The last moment to give up: from the announcement on, the others know of this device.
      throwIfAborted(signal, 'joining the group')
    }
    await this.#scans.run(async () => {
      await this.#scanMetadata()
      await this.#sender.announce({ announced: this.#metadataLog.ownDeviceAnnounced, groupName: creating && this.kind === 'multi-member' ? this.#record.name : undefined })
      for (const device of await state.statuses.waitingDevices(this.id)) await this.#pipeline.retryWaiting(device)
      await this.#pipeline.scan()
    })
  }

  readonly #onSyncPeer = (address: string, peerId: string): void => {
    if (address !== this.#metadata.address && address !== this.#messages.address) return
    this.#deps.state.addGroupPeer(this.id, peerId).catch((err: unknown) => { this.#logger.warn({ err }, 'could not remember a group peer') })
  }

  readonly #onHandedOver = (address: string, upTo: number): void => {
    if (address === this.#messages.address) this.#deps.events.emit('handedOver', { group: this, upTo })
  }

  async #scanMetadata (): Promise<void> {
    const applied = await this.#metadataLog.scan()
    // New devices or keys may unblock deferred messages.
    if (applied > 0 && this.#pipeline.hasDeferred) this.#scans.schedule('messages')
  }

  /** Checked at once, so that a bad message fails its caller rather than a receiver. */
  #appMessage (message: OutgoingMessage): ReturnType<typeof toAppMessage> {
    return toAppMessage(checkOutgoing(message), this.#deps.now())
  }
}
