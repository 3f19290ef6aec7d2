/**
 * An open group: its two logs, who is in it, and the pipeline that turns log
 * entries into events.
 *
 * Metadata log (WESH.md §2.5): read whole each time the group opens. Each
 * member device announces itself (`MemberDeviceAdded`) and seals its chain
 * key to every member it sees (`DeviceChainKeyAdded`); display names and the
 * group's name travel there too, so later members learn them.
 *
 * Message log: entries are taken in causal order. An entry whose sender's
 * chain key has not reached us yet (the two logs sync independently) is
 * deferred, and so is everything after it, so that causal order holds; after
 * `DEFER_GRACE_MS` it stops holding the rest back and waits on its own, to be
 * delivered if the key ever comes. Each entry ends with a status in the state
 * database, so it is looked at once, and delivered once.
 */
import type { Libp2p } from '@libp2p/interface'
import type { OrbitDB } from '@orbitdb/core'
import PQueue from 'p-queue'
import { GroupAccessController } from './access-controller.ts'
import { AppMessageType, MAX_TEXT_LENGTH, decodeAppMessage, encodeAppMessage, appMessageSchema, type AppMessage } from './app-messages.ts'
import { bytesToHex } from './crypto.ts'
import { decodeCbor as decodeBody, keyToId } from './encoding.ts'
import {
  MetadataEventType, deviceChainKeyAddedSchema, memberDeviceAddedSchema, openChainKey, openMessageBody,
  openMessageHeaders, openMetadataEvent, payloadSentSchema, sealChainKey, sealMessage, sealMetadataEvent,
  signMemberDevice, verifyMemberDevice, type MetadataEventTypeNumber
} from './envelope.ts'
import { BertybotError, DataDirectoryError, InvalidOptionError, NotRunningError, type DropReason } from './errors.ts'
import type { DeliverableEventName, DeliveringEmitter, PeerEvents, Sender } from './events.ts'
import { GroupConnector } from './group-connector.ts'
import { decodeInvitation, encodeInvitation, groupKeysFromParts, type GroupKeys, type GroupKind } from './group-keys.ts'
import { groupLogDatabase, type GroupLog } from './group-log.ts'
import type { IdentityKeys } from './keystore.ts'
import { BoundedSet, groupPayloadSchema } from './log-entry.ts'
import { byCausalOrder, unsettledEntries, type HashedEntry } from './log-order.ts'
import type { LogSync } from './log-sync.ts'
import type { Logger } from './logger.ts'
import { Membership, type Member } from './membership.ts'
import { nextSendingKey, newSenderChain, receiverChainFrom, takeMessageKey, type ReceiverChain, type SenderChain } from './ratchet.ts'
import type { EntryStatus, GroupRecord, LogKind, StateOp, StateStore } from './state-store.ts'

/** How long a message whose sender's chain key is missing holds back the messages after it. */
export const DEFER_GRACE_MS = 60_000

/** What a group needs from its peer. */
export interface GroupDeps {
  identity: IdentityKeys
  state: StateStore
  orbitdb: OrbitDB
  sync: LogSync
  libp2p: Libp2p
  logger: Logger
  now: () => number
  displayName: string | undefined
  events: DeliveringEmitter
  joinGroup: (invitation: string) => Promise<Group>
  multiaddrs: () => string[]
}

export class InvalidMessageError extends BertybotError {
  constructor (message: string) {
    super('ERR_INVALID_MESSAGE', message)
  }
}

export interface SendOptions {
  text: string
  /** Id of the message this one answers. */
  replyTo?: string | undefined
}

/** State changes an outcome commits: written in one batch, then mirrored in memory by `after`. */
interface Changes {
  ops: StateOp[]
  after?: () => void
}

type Outcome =
  | { kind: 'deliver', changes: Changes, name: DeliverableEventName, event: Parameters<PeerEvents[DeliverableEventName]>[0] }
  | { kind: 'settle', status: Exclude<EntryStatus, 'handled' | 'waiting'>, reason?: DropReason, detail?: string, changes?: Changes }
  | { kind: 'defer', device: string, why: string }

interface MetadataFollowUps {
  shareChainKeyWith: Set<string>
  newChains: Set<string>
  /** DeviceAdded entries of new members, by entry hash, with the device that joined. */
  joined: Map<string, string>
}

export class Group {
  /** The group id: its public key, as a string. */
  readonly id: string
  readonly kind: GroupKind
  readonly #keys: GroupKeys
  readonly #record: GroupRecord
  readonly #deps: GroupDeps
  readonly #logger: Logger
  readonly #membership = new Membership()
  readonly #processing = new PQueue({ concurrency: 1 })
  readonly #sending = new PQueue({ concurrency: 1 })
  readonly #appliedMetadata = new Set<string>()
  /** Message entries settled this session: a cache in front of their persisted status. */
  readonly #settled = new BoundedSet<string>(50_000)
  /** Entries delivered this session and not yet marked handled: not delivered again until a restart. */
  readonly #awaitingHandled = new Set<string>()
  readonly #deferredSince = new Map<string, number>()
  #metadata!: GroupLog
  #messages!: GroupLog
  /** Our chain, mirrored from the state database (only `#sending` tasks touch it). */
  #ownChain!: SenderChain
  /** Other devices' chains, mirrored from the state database (only `#processing` tasks touch them). */
  readonly #receiverChains = new Map<string, ReceiverChain>()
  #connector!: GroupConnector
  #groupName: { name: string, sentAt: number } | undefined
  #ownDeviceAnnounced = false
  #metadataScanQueued = false
  #messageScanQueued = false
  #deferTimer: NodeJS.Timeout | undefined
  #closed = false

  private constructor (deps: GroupDeps, record: GroupRecord, keys: GroupKeys) {
    this.#deps = deps
    this.#record = record
    this.#keys = keys
    this.id = keyToId(keys.publicKey)
    this.kind = keys.kind
    this.#logger = deps.logger.child({ group: this.id })
  }

  /** Opens a group the peer holds: its logs, its members, its pending messages. */
  static async open (deps: GroupDeps, record: GroupRecord, options: { creating?: boolean } = {}): Promise<Group> {
    const keys = groupKeysFromParts({ kind: record.kind, publicKey: record.pk, secret: record.secret, secretSig: record.secretSig, linkKeySig: record.linkKeySig })
    if (keys === undefined) throw new DataDirectoryError(`group ${keyToId(record.pk)} has keys that do not match its signatures`)
    const group = new Group(deps, record, keys)
    await group.#start(options.creating === true)
    return group
  }

  /** The group's name: as its creator set it, or as the invitation gave it. */
  get name (): string {
    return this.#groupName?.name ?? this.#record.name
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

  /** Members as the metadata log knows them, this peer included. */
  members (): Member[] {
    return this.#membership.list()
  }

  /** Sends a text message; resolves with its id once it is in the log (other members get it as they sync). */
  async send (options: SendOptions): Promise<string> {
    if (typeof options?.text !== 'string') throw new InvalidMessageError('a message needs a text')
    if (options.text.length > MAX_TEXT_LENGTH) throw new InvalidMessageError(`text is ${options.text.length} characters long; the limit is ${MAX_TEXT_LENGTH}`)
    return await this.#sendApp({ type: AppMessageType.UserMessage, text: options.text, replyTo: options.replyTo, sentAt: this.#deps.now() })
  }

  /** Tells the group a message was received (Berty's acknowledgement). */
  async acknowledge (messageId: string): Promise<string> {
    return await this.#sendApp({ type: AppMessageType.Acknowledge, target: messageId, sentAt: this.#deps.now() })
  }

  /** Sends a group invitation link as a message (typically in a contact's 1:1 group). */
  async sendInvitation (invitation: string): Promise<string> {
    decodeInvitation(invitation)
    return await this.#sendApp({ type: AppMessageType.GroupInvitation, invitation, sentAt: this.#deps.now() })
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#deferTimer)
    this.#deps.sync.off('peer', this.#onSyncPeer)
    await this.#connector.stop()
    await this.#processing.onIdle()
    await this.#sending.onIdle()
    await this.#metadata.close()
    await this.#messages.close()
  }

  // Start-up

  async #start (creating: boolean): Promise<void> {
    const { orbitdb, state, sync, libp2p } = this.#deps
    const prefix = bytesToHex(this.#keys.publicKey)
    const open = async (store: string): Promise<GroupLog> => await orbitdb.open(`${prefix}_bertybot_group_${store}`, {
      type: 'events',
      AccessController: GroupAccessController({ signingKey: bytesToHex(this.#keys.signing.publicKey) }),
      Database: groupLogDatabase({ signing: this.#keys.signing, state, sync })
    }) as GroupLog
    this.#metadata = await open('metadata')
    this.#messages = await open('messages')
    const stored = await state.ownChain(this.id)
    if (stored === undefined) {
      this.#ownChain = newSenderChain()
      await state.batch([state.putOwnChainOp(this.id, this.#ownChain)])
    } else {
      this.#ownChain = stored
    }
    sync.on('peer', this.#onSyncPeer)
    this.#metadata.events.on('update', () => { this.#scheduleMetadataScan() })
    this.#messages.events.on('update', () => { this.#scheduleMessageScan() })

    await this.#processing.add(async () => {
      await this.#scanMetadata()
      await this.#announce(creating)
      for (const device of await state.waitingDevices(this.id)) await this.#retryWaiting(device)
      await this.#scanMessages()
    })

    this.#connector = new GroupConnector({
      libp2p,
      logger: this.#logger,
      hints: () => this.#record.hints,
      knownPeers: async () => await state.groupPeers(this.id)
    })
    this.#connector.start()
  }

  /** Posts what this device owes the metadata log: itself, its chain key to every member, its name. */
  async #announce (creating: boolean): Promise<void> {
    const { identity, displayName } = this.#deps
    if (!this.#ownDeviceAnnounced) {
      await this.#postMetadata(MetadataEventType.MemberDeviceAdded, {
        m: identity.account.publicKey,
        ms: signMemberDevice(identity.account, this.#keys.publicKey, identity.device.publicKey)
      })
    }
    for (const member of this.#membership.list()) await this.#shareChainKey(member.account)
    const ownAccount = keyToId(identity.account.publicKey)
    if (displayName !== undefined && this.#membership.member(ownAccount)?.displayName !== displayName) {
      await this.#postMetadata(MetadataEventType.PayloadSent, { m: encodeAppMessage({ type: AppMessageType.SetUserInfo, displayName, sentAt: this.#deps.now() }) })
    }
    if (creating && this.kind === 'multi-member') {
      await this.#postMetadata(MetadataEventType.PayloadSent, { m: encodeAppMessage({ type: AppMessageType.SetGroupInfo, name: this.#record.name, sentAt: this.#deps.now() }) })
    }
  }

  readonly #onSyncPeer = (address: string, peerId: string): void => {
    if (address !== this.#metadata.address && address !== this.#messages.address) return
    this.#deps.state.addGroupPeer(this.id, peerId).catch((err: unknown) => { this.#logger.warn({ err }, 'could not remember a group peer') })
  }

  // Scheduling: one scan of each log at a time, and at most one more queued behind it.

  #scheduleMetadataScan (): void {
    if (this.#metadataScanQueued || this.#closed) return
    this.#metadataScanQueued = true
    this.#processing.add(async () => {
      this.#metadataScanQueued = false
      if (!this.#closed) await this.#scanMetadata()
    }).catch((err: unknown) => { this.#logger.error({ err }, 'metadata processing failed') })
  }

  #scheduleMessageScan (): void {
    if (this.#messageScanQueued || this.#closed) return
    this.#messageScanQueued = true
    this.#processing.add(async () => {
      this.#messageScanQueued = false
      if (!this.#closed) await this.#scanMessages()
    }).catch((err: unknown) => { this.#logger.error({ err }, 'message processing failed') })
  }

  // Metadata

  async #scanMetadata (): Promise<void> {
    const entries = await unsettledEntries(this.#metadata.log, (hash) => this.#appliedMetadata.has(hash))
    const followUps: MetadataFollowUps = { shareChainKeyWith: new Set(), newChains: new Set(), joined: new Map() }
    for (const entry of entries) {
      await this.#applyMetadata(entry, followUps)
      this.#appliedMetadata.add(entry.hash)
    }
    // Our chain key goes out before anyone hears of the new member: what is sent
    // after `memberJoined` must be readable by that member.
    for (const account of followUps.shareChainKeyWith) await this.#shareChainKey(account)
    // After the whole batch, so that a display name posted with the device is known.
    for (const [entryHash, device] of followUps.joined) await this.#deliverMemberJoined(entryHash, device)
    for (const device of followUps.newChains) await this.#retryWaiting(device)
    // New devices or keys may unblock deferred messages.
    if (entries.length > 0 && this.#deferredSince.size > 0) this.#scheduleMessageScan()
  }

  #dropMetadata (entry: HashedEntry, reason: DropReason, detail: string): void {
    this.#logger.warn({ entry: entry.hash, reason, detail }, 'dropped a metadata entry')
  }

  async #applyMetadata (entry: HashedEntry, followUps: MetadataFollowUps): Promise<void> {
    const { identity, state } = this.#deps
    const payload = groupPayloadSchema.safeParse(entry.payload)
    if (!payload.success) return this.#dropMetadata(entry, 'malformed', 'payload is not an entry of ours')
    const opened = openMetadataEvent(this.#keys.secret, this.#keys.publicKey, payload.data.value)
    if (!opened.ok) return this.#dropMetadata(entry, opened.reason, opened.detail)
    const { type, device, body } = opened.event
    const deviceId = keyToId(device)

    switch (type) {
      case MetadataEventType.MemberDeviceAdded: {
        const added = decodeBody(body, memberDeviceAddedSchema)
        if (added === undefined) return this.#dropMetadata(entry, 'malformed', 'MemberDeviceAdded body')
        if (!verifyMemberDevice(added.m, this.#keys.publicKey, device, added.ms)) {
          return this.#dropMetadata(entry, 'bad-signature', 'device not vouched for by its member')
        }
        const { added: ok, newMember } = this.#membership.addDevice(added.m, device)
        if (!ok) return this.#dropMetadata(entry, 'bad-signature', 'device already belongs to another member')
        const account = keyToId(added.m)
        if (deviceId === keyToId(identity.device.publicKey)) this.#ownDeviceAnnounced = true
        if (account === keyToId(identity.account.publicKey)) return
        followUps.shareChainKeyWith.add(account)
        if (newMember) followUps.joined.set(entry.hash, deviceId)
        return
      }
      case MetadataEventType.DeviceChainKeyAdded: {
        const box = decodeBody(body, deviceChainKeyAddedSchema)
        if (box === undefined) return this.#dropMetadata(entry, 'malformed', 'DeviceChainKeyAdded body')
        // Boxes to other members, and our own, are not ours to open.
        if (keyToId(box.to) !== keyToId(identity.account.publicKey) || deviceId === keyToId(identity.device.publicKey)) return
        if (!this.#membership.isDevice(deviceId)) return this.#dropMetadata(entry, 'not-a-member', 'chain key from a device that never joined')
        if (await this.#receiverChain(deviceId) !== undefined) return
        const shared = openChainKey(identity.account, device, this.#keys.publicKey, box.box)
        if (shared === undefined) return this.#dropMetadata(entry, 'wrong-key', 'chain key box does not open')
        const chain = receiverChainFrom(shared, this.#keys.publicKey)
        await state.batch([state.putReceiverChainOp(this.id, deviceId, chain)])
        this.#receiverChains.set(deviceId, chain)
        followUps.newChains.add(deviceId)
        return
      }
      case MetadataEventType.PayloadSent: {
        const sent = decodeBody(body, payloadSentSchema)
        if (sent === undefined) return this.#dropMetadata(entry, 'malformed', 'PayloadSent body')
        if (!this.#membership.isDevice(deviceId)) return this.#dropMetadata(entry, 'not-a-member', 'info from a device that never joined')
        const decoded = decodeAppMessage(sent.m)
        if (!decoded.ok) return this.#dropMetadata(entry, decoded.reason, decoded.detail)
        const message = decoded.message
        if (message.type === AppMessageType.SetUserInfo) {
          this.#membership.setDisplayName(deviceId, message.displayName, message.sentAt)
        } else if (message.type === AppMessageType.SetGroupInfo) {
          if (this.#groupName === undefined || message.sentAt >= this.#groupName.sentAt) this.#groupName = { name: message.name, sentAt: message.sentAt }
        } else {
          return this.#dropMetadata(entry, 'unknown-type', `app message type ${message.type} does not belong on the metadata log`)
        }
        return
      }
      case MetadataEventType.GroupReplicating:
        // Replicas announce themselves here; nothing to do for a member yet.
        return
      default:
        return this.#dropMetadata(entry, 'unknown-type', `metadata event type ${type}`)
    }
  }

  async #deliverMemberJoined (entryHash: string, deviceId: string): Promise<void> {
    if (this.#awaitingHandled.has(entryHash)) return
    if (await this.#deps.state.entryStatus(this.id, 'metadata', entryHash) !== undefined) return
    const member = this.#membership.memberOf(deviceId)
    if (member === undefined) return
    this.#awaitingHandled.add(entryHash)
    this.#deps.events.deliver('memberJoined', {
      group: this,
      member: { account: member.account, device: deviceId, displayName: member.displayName },
      markHandled: this.#marker('metadata', entryHash, [])
    })
  }

  /** Seals our chain key to `account` once (Wesh `SendSecret`), so it can read what we send from now on. */
  async #shareChainKey (account: string): Promise<void> {
    const { identity, state } = this.#deps
    if (account === keyToId(identity.account.publicKey)) return
    const accountKey = this.#membership.accountKey(account)
    if (accountKey === undefined) return
    await this.#sending.add(async () => {
      if (await state.chainKeySentTo(this.id, account)) return
      await this.#postMetadata(MetadataEventType.DeviceChainKeyAdded, {
        to: accountKey,
        box: sealChainKey(identity.device, accountKey, this.#keys.publicKey, this.#ownChain)
      })
      await state.batch([state.chainKeySentOp(this.id, account)])
    })
  }

  async #postMetadata (type: MetadataEventTypeNumber, body: unknown): Promise<string> {
    return await this.#metadata.add(sealMetadataEvent(this.#keys.secret, this.#keys.publicKey, this.#deps.identity.device, type, body))
  }

  // Messages

  async #isMessageSettled (hash: string): Promise<boolean> {
    if (this.#settled.has(hash) || this.#awaitingHandled.has(hash)) return true
    if (await this.#deps.state.entryStatus(this.id, 'messages', hash) === undefined) return false
    this.#settled.add(hash)
    return true
  }

  async #scanMessages (): Promise<void> {
    const entries = await unsettledEntries(this.#messages.log, async (hash) => await this.#isMessageSettled(hash))
    const now = Date.now()
    const deferred = new Set<string>()
    for (const entry of entries) {
      if (entry.next.some((hash) => deferred.has(hash))) {
        deferred.add(entry.hash)
        if (!this.#deferredSince.has(entry.hash)) {
          this.#deferredSince.set(entry.hash, now)
          this.#logger.debug({ entry: entry.hash }, 'message held back behind an earlier one that waits for a chain key')
        }
        continue
      }
      const outcome = await this.#openMessage(entry)
      if (outcome.kind === 'defer') {
        const since = this.#deferredSince.get(entry.hash) ?? now
        if (now - since < DEFER_GRACE_MS) {
          if (!this.#deferredSince.has(entry.hash)) this.#logger.debug({ entry: entry.hash, device: outcome.device, why: outcome.why }, 'message deferred until its sender\'s chain key arrives')
          this.#deferredSince.set(entry.hash, since)
          deferred.add(entry.hash)
          continue
        }
        // Grace is over: stop holding later messages back for this one; it waits on its own.
        this.#logger.info({ entry: entry.hash, device: outcome.device, why: outcome.why }, 'message waits for its sender\'s chain key')
        await this.#deps.state.batch([
          this.#deps.state.setStatusOp(this.id, 'messages', entry.hash, 'waiting'),
          this.#deps.state.addWaitingOp(this.id, outcome.device, entry.hash)
        ])
        this.#deferredSince.delete(entry.hash)
        this.#settled.add(entry.hash)
        continue
      }
      this.#deferredSince.delete(entry.hash)
      await this.#settle(entry, outcome, [])
    }
    this.#armDeferTimer()
  }

  /** Re-runs the scan when the oldest deferred entry's grace runs out. */
  #armDeferTimer (): void {
    clearTimeout(this.#deferTimer)
    this.#deferTimer = undefined
    if (this.#deferredSince.size === 0 || this.#closed) return
    const oldest = Math.min(...this.#deferredSince.values())
    this.#deferTimer = setTimeout(() => { this.#scheduleMessageScan() }, Math.max(0, oldest + DEFER_GRACE_MS - Date.now()) + 10)
    this.#deferTimer.unref()
  }

  /** Entries that waited for `device`'s chain key, now that it may have come. */
  async #retryWaiting (device: string): Promise<void> {
    const { state } = this.#deps
    const entries: HashedEntry[] = []
    for (const hash of await state.waitingFor(this.id, device)) {
      const entry = await this.#messages.log.get(hash)
      if (entry !== undefined) entries.push({ ...entry, hash })
    }
    for (const entry of entries.sort(byCausalOrder)) {
      const outcome = await this.#openMessage(entry)
      if (outcome.kind === 'defer') continue
      await this.#settle(entry, outcome, [state.delWaitingOp(this.id, device, entry.hash)])
    }
  }

  async #settle (entry: HashedEntry, outcome: Exclude<Outcome, { kind: 'defer' }>, whenDone: StateOp[]): Promise<void> {
    const { state, events } = this.#deps
    if (outcome.kind === 'deliver') {
      await state.batch(outcome.changes.ops)
      outcome.changes.after?.()
      this.#awaitingHandled.add(entry.hash)
      const event = { ...outcome.event, markHandled: this.#marker('messages', entry.hash, [state.delMessageKeyOp(this.id, entry.hash), ...whenDone]) }
      events.deliver(outcome.name, event as never)
      return
    }
    if (outcome.status === 'dropped') {
      this.#logger.warn({ entry: entry.hash, reason: outcome.reason, detail: outcome.detail }, 'dropped a message entry')
    }
    await state.batch([...(outcome.changes?.ops ?? []), ...whenDone, state.setStatusOp(this.id, 'messages', entry.hash, outcome.status)])
    outcome.changes?.after?.()
    this.#settled.add(entry.hash)
  }

  /** `markHandled` for one entry: records it handled, with `ops` (delete its message key...), once. */
  #marker (log: LogKind, entryHash: string, ops: StateOp[]): () => Promise<void> {
    let done: Promise<void> | undefined
    return async () => {
      done ??= (async () => {
        const { state } = this.#deps
        await state.batch([...ops, state.setStatusOp(this.id, log, entryHash, 'handled')])
        this.#awaitingHandled.delete(entryHash)
        if (log === 'messages') this.#settled.add(entryHash)
      })()
      await done
    }
  }

  /** Opens one message entry: what to deliver, or why it is settled without delivery, or why it must wait. */
  async #openMessage (entry: HashedEntry): Promise<Outcome> {
    const { identity, state } = this.#deps
    const drop = (reason: DropReason, detail: string, changes?: Changes): Outcome => ({ kind: 'settle', status: 'dropped', reason, detail, ...(changes === undefined ? {} : { changes }) })

    const payload = groupPayloadSchema.safeParse(entry.payload)
    if (!payload.success) return drop('malformed', 'payload is not an entry of ours')
    const opened = openMessageHeaders(this.#keys.secret, payload.data.value)
    if (!opened.ok) return drop(opened.reason, opened.detail)
    const { headers, sealedBody } = opened
    const device = keyToId(headers.device)
    if (device === keyToId(identity.device.publicKey)) return { kind: 'settle', status: 'own' }
    const member = this.#membership.memberOf(device)
    if (member === undefined) return { kind: 'defer', device, why: 'sender device not yet seen on the metadata log' }
    const chain = await this.#receiverChain(device)
    if (chain === undefined) return { kind: 'defer', device, why: 'no chain key from the sender yet' }

    let messageKey: Uint8Array
    let keyChanges: Changes = { ops: [] }
    const lookup = takeMessageKey(chain, headers.counter, this.#keys.publicKey)
    switch (lookup.outcome) {
      case 'before-join': return { kind: 'settle', status: 'history' }
      case 'out-of-window': return drop('counter-out-of-window', `counter ${headers.counter} is beyond the keys held for device ${device}`)
      case 'already-used': {
        // Decrypted before a restart and not yet handled: its key was kept for this.
        const kept = await state.messageKey(this.id, entry.hash)
        if (kept === undefined) return drop('replayed-counter', `counter ${headers.counter} of device ${device} was already used`)
        messageKey = kept
        break
      }
      case 'found':
        messageKey = lookup.messageKey
        keyChanges = {
          ops: [state.putReceiverChainOp(this.id, device, lookup.chain), state.putMessageKeyOp(this.id, entry.hash, messageKey)],
          after: () => { this.#receiverChains.set(device, lookup.chain) }
        }
    }
    // A body that does not open or verify does not consume the key: a member forging a
    // counter of someone else's chain must not be able to burn the real message's key.
    const body = openMessageBody(this.#keys.publicKey, headers, messageKey, sealedBody)
    if (!body.ok) return drop(body.reason, body.detail)
    const decoded = decodeAppMessage(body.plaintext)
    // Signed by a member: the key is spent either way, but there is no message to keep it for.
    const spent: Changes = { ops: keyChanges.ops.slice(0, 1), ...(keyChanges.after === undefined ? {} : { after: keyChanges.after }) }
    if (!decoded.ok) return drop(decoded.reason, decoded.detail, spent)

    const message = decoded.message
    const sender: Sender = { account: member.account, device, displayName: member.displayName }
    const base = { group: this, id: entry.hash, sender, sentAt: new Date(message.sentAt) }
    switch (message.type) {
      case AppMessageType.UserMessage:
        return { kind: 'deliver', changes: keyChanges, name: 'message', event: { ...base, text: message.text, replyTo: message.replyTo, markHandled: unset } }
      case AppMessageType.Acknowledge:
        return { kind: 'deliver', changes: keyChanges, name: 'acknowledgement', event: { ...base, target: message.target, markHandled: unset } }
      case AppMessageType.GroupInvitation: {
        let groupName: string
        try {
          groupName = decodeInvitation(message.invitation).name
        } catch (err) {
          return drop('malformed', `invitation: ${(err as Error).message}`, spent)
        }
        const invitation = message.invitation
        return {
          kind: 'deliver',
          changes: keyChanges,
          name: 'groupInvitation',
          event: { ...base, invitation, groupName, accept: async () => await this.#deps.joinGroup(invitation), markHandled: unset }
        }
      }
      default:
        return drop('unknown-type', `app message type ${message.type} does not belong on the message log`, spent)
    }
  }

  async #sendApp (message: AppMessage): Promise<string> {
    if (this.#closed) throw new NotRunningError(`group ${this.id} is closed`)
    const checked = appMessageSchema.safeParse(message)
    if (!checked.success) throw new InvalidMessageError(checked.error.issues[0]?.message ?? 'invalid message')
    const plaintext = encodeAppMessage(message)
    const { identity, state } = this.#deps
    return await this.#sending.add(async () => {
      const step = nextSendingKey(this.#ownChain, this.#keys.publicKey)
      // The chain moves on before the message exists anywhere: a crash may skip a counter, never reuse one.
      await state.batch([state.putOwnChainOp(this.id, step.chain)])
      this.#ownChain = step.chain
      // Its 'own' status is recorded by the scan its update triggers, off the sender's path.
      return await this.#messages.add(sealMessage(this.#keys.secret, this.#keys.publicKey, identity.device, step.counter, step.messageKey, plaintext))
    })
  }

  /** Another device's chain, from memory or the state database. */
  async #receiverChain (device: string): Promise<ReceiverChain | undefined> {
    let chain = this.#receiverChains.get(device)
    if (chain === undefined) {
      chain = await this.#deps.state.receiverChain(this.id, device)
      if (chain !== undefined) this.#receiverChains.set(device, chain)
    }
    return chain
  }
}

/** Placeholder replaced by `#settle` with the entry's real marker. */
const unset = async (): Promise<void> => { throw new Error('markHandled called before delivery') }
