/**
 * A group's metadata log (WESH.md §2.5), applied: who is in the group (each
 * member device announces itself, `MemberDeviceAdded`, vouched for by its
 * account), the chain keys sealed to us (`DeviceChainKeyAdded`), display
 * names and the group's name (`PayloadSent`), and the replicas keeping the
 * group (`GroupReplicating`); and who may do what, which `GroupRoles`
 * (`group-roles.ts`) works out from the genesis and the authority events
 * (roles granted and revoked, epochs started). It is read whole each time the
 * group opens, then entry by entry as they come; `memberJoined` events come
 * from here.
 *
 * Beside the message pipeline, which reads the message log: each new chain
 * key may let it open messages that waited for it.
 */
import { AppMessageType, decodeAppMessage } from './app-messages.ts'
import type { DeviceChains } from './device-chains.ts'
import { equalBytes } from './crypto.ts'
import { decodeCbor as decodeBody, keyToId } from './encoding.ts'
import { epochStartedSchema, initialAdminsSchema, roleChangeSchema, verifyInitialAdmins } from './epoch-envelope.ts'
import {
  MetadataEventType, deviceChainKeyAddedSchema, groupReplicatingSchema, memberDeviceAddedSchema, openChainKey, openChainKeys, openMetadataEvent,
  payloadSentSchema, verifyMemberDevice, type SealedChainKeys
} from './envelope.ts'
import type { DropReason } from './errors.ts'
import type { DeliveringEmitter } from './events.ts'
import type { GroupKeys } from './group-keys.ts'
import type { GroupRoles } from './group-roles.ts'
import type { Group } from './handles.ts'
import type { IdentityKeys } from './keystore.ts'
import { groupPayloadSchema } from './log-entry.ts'
import { unsettledEntries, type HashedEntry, type WalkableLog } from './log-order.ts'
import type { Logger } from './logger.ts'
import type { Membership } from './membership.ts'
import { once } from './once.ts'
import { receiverChainFrom } from './ratchet.ts'
import type { StateStore } from './state-store.ts'

/** Entries kept at most, per group, while their devices are not seen joining. */
const MAX_AWAITING_DEVICE = 1000

export interface MetadataLogDeps {
  /** The group, as events name it. */
  group: Group
  /** Where this log's state is kept: the id of the epoch it belongs to. */
  stateId: string
  /** Who may do what in this epoch: fed from here. */
  roles: GroupRoles
  /** Told when the admins or the epoch's end changed. */
  onRolesChanged: () => void
  keys: GroupKeys
  identity: IdentityKeys
  state: StateStore
  log: WalkableLog
  membership: Membership
  chains: DeviceChains
  events: DeliveringEmitter
  logger: Logger
  /** Contact groups: the other account (no third one may join). */
  contact: string | undefined
  /** Told of every other account seen with a device in the group (contacts learn of acceptances this way). */
  onMemberSeen: (account: string) => void
  /**
   * Told of devices whose waiting messages may open now: their chain key
   * just came, or they just became known (their chain comes in their messages).
   */
  onNewlyReadable: (devices: Set<string>) => Promise<void>
}

interface FollowUps {
  /** Devices with a new chain, or newly known. */
  newlyReadable: Set<string>
  /** A genesis or an authority event was taken: the roles are to be settled again. */
  authority: boolean
  /** DeviceAdded entries of new members, by entry hash, with the device that joined. */
  joined: Map<string, string>
}

export class MetadataLog {
  readonly #deps: MetadataLogDeps
  readonly #applied = new Set<string>()
  /**
   * Entries of devices not known to have joined yet, by hash: the device's
   * MemberDeviceAdded may be an ancestor that had not reached us when they
   * were scanned. Tried again after each scan; dropped past the limit.
   */
  readonly #awaitingDevice = new Map<string, { entry: HashedEntry, device: string }>()
  /** `memberJoined` events delivered this session and not yet marked handled. */
  readonly #joinsAwaitingHandled = new Set<string>()
  #groupName: { name: string, sentAt: number } | undefined
  /** Replicas keeping this group, as announced: peer id → addresses. */
  readonly #replicas = new Map<string, string[]>()
  #ownDeviceAnnounced = false
  #genesisSeen = false

  constructor (deps: MetadataLogDeps) {
    this.#deps = deps
  }

  /** Whether the log holds the epoch's genesis (`InitialAdmins`). */
  get genesisSeen (): boolean {
    return this.#genesisSeen
  }

  /** The group's name as its members last set it, if they did. */
  get groupName (): string | undefined {
    return this.#groupName?.name
  }

  /** Whether this device's own MemberDeviceAdded is in the log. */
  get ownDeviceAnnounced (): boolean {
    return this.#ownDeviceAnnounced
  }

  /** The replicas keeping this group: peer id → addresses. */
  get replicas (): ReadonlyMap<string, string[]> {
    return this.#replicas
  }

  /** Applies the entries not applied yet, oldest first; resolves with how many there were. */
  async scan (): Promise<number> {
    const entries = await unsettledEntries(this.#deps.log, (hash) => this.#applied.has(hash))
    const followUps: FollowUps = { newlyReadable: new Set(), joined: new Map(), authority: false }
    for (const entry of entries) {
      await this.#apply(entry, followUps)
      this.#applied.add(entry.hash)
    }
    for (const [hash, { entry, device }] of this.#awaitingDevice) {
      if (!this.#deps.membership.isDevice(device)) continue
      this.#awaitingDevice.delete(hash)
      await this.#apply(entry, followUps)
    }
    if (followUps.authority && this.#deps.roles.settle()) this.#deps.onRolesChanged()
    // After the whole batch, so that a display name posted with the device is known.
    for (const [entryHash, device] of followUps.joined) await this.#deliverMemberJoined(entryHash, device)
    if (followUps.newlyReadable.size > 0) await this.#deps.onNewlyReadable(followUps.newlyReadable)
    return entries.length
  }

  #drop (entry: HashedEntry, reason: DropReason, detail: string): void {
    this.#deps.logger.warn({ entry: entry.hash, reason, detail }, 'dropped a metadata entry')
  }

  /** Keeps an entry of a device not (yet) known to be a member until that device's arrival is applied. */
  #awaitDevice (entry: HashedEntry, device: string, what: string): void {
    if (this.#awaitingDevice.size >= MAX_AWAITING_DEVICE) return this.#drop(entry, 'not-a-member', `${what} from a device that never joined`)
    this.#deps.logger.debug({ entry: entry.hash, device }, `${what} from a device not seen joining yet: kept until it is`)
    this.#awaitingDevice.set(entry.hash, { entry, device })
  }

  async #apply (entry: HashedEntry, followUps: FollowUps): Promise<void> {
    const { identity, keys, membership } = this.#deps
    const payload = groupPayloadSchema.safeParse(entry.payload)
    if (!payload.success) return this.#drop(entry, 'malformed', 'payload is not an entry of ours')
    const opened = openMetadataEvent(keys.secret, keys.publicKey, payload.data.value)
    if (!opened.ok) return this.#drop(entry, opened.reason, opened.detail)
    const { type, device, body } = opened.event
    const deviceId = keyToId(device)

    switch (type) {
      case MetadataEventType.MemberDeviceAdded: {
        const added = decodeBody(body, memberDeviceAddedSchema)
        if (added === undefined) return this.#drop(entry, 'malformed', 'MemberDeviceAdded body')
        if (!verifyMemberDevice(added.m, keys.publicKey, device, added.ms)) {
          return this.#drop(entry, 'bad-signature', 'device not vouched for by its member')
        }
        const account = keyToId(added.m)
        const ownAccount = keyToId(identity.account.publicKey)
        if (this.#deps.contact !== undefined && account !== this.#deps.contact && account !== ownAccount) {
          return this.#drop(entry, 'not-a-member', 'a third account in a contact group')
        }
        const { added: ok, newMember } = membership.addDevice(added.m, device)
        if (!ok) return this.#drop(entry, 'bad-signature', 'device already belongs to another member')
        if (deviceId === keyToId(identity.device.publicKey)) this.#ownDeviceAnnounced = true
        if (added.info !== undefined) this.#applyInfo(entry, deviceId, added.info)
        if (account === ownAccount) return
        followUps.newlyReadable.add(deviceId)
        if (added.k !== undefined) await this.#acceptChainKey(entry, device, added.k, followUps)
        if (newMember) {
          followUps.joined.set(entry.hash, deviceId)
          this.#deps.onMemberSeen(account)
        }
        return
      }
      case MetadataEventType.DeviceChainKeyAdded: {
        const shared = decodeBody(body, deviceChainKeyAddedSchema)
        if (shared === undefined) return this.#drop(entry, 'malformed', 'DeviceChainKeyAdded body')
        if (!membership.isDevice(deviceId)) return this.#awaitDevice(entry, deviceId, 'chain key')
        await this.#acceptChainKey(entry, device, 'k' in shared ? shared.k : shared, followUps)
        return
      }
      case MetadataEventType.PayloadSent: {
        const sent = decodeBody(body, payloadSentSchema)
        if (sent === undefined) return this.#drop(entry, 'malformed', 'PayloadSent body')
        if (!membership.isDevice(deviceId)) return this.#awaitDevice(entry, deviceId, 'info')
        return this.#applyInfo(entry, deviceId, sent.m)
      }
      case MetadataEventType.InitialAdmins: {
        const genesis = decodeBody(body, initialAdminsSchema)
        if (genesis === undefined) return this.#drop(entry, 'malformed', 'InitialAdmins body')
        if (this.#deps.contact !== undefined) return this.#drop(entry, 'not-a-member', 'a contact group has no admins')
        if (!verifyInitialAdmins(keys.publicKey, genesis)) return this.#drop(entry, 'bad-signature', 'genesis not signed by the epoch\'s group key')
        this.#deps.roles.addGenesis(genesis)
        this.#genesisSeen = true
        for (const member of genesis.m) membership.addExpected(member)
        followUps.authority = true
        return
      }
      case MetadataEventType.AdminRoleGranted:
      case MetadataEventType.AdminRoleRevoked:
      case MetadataEventType.EpochStarted:
        return await this.#takeAuthority(entry, type, deviceId, device, body, followUps)
      case MetadataEventType.GroupReplicating: {
        const replicating = decodeBody(body, groupReplicatingSchema)
        if (replicating === undefined) return this.#drop(entry, 'malformed', 'GroupReplicating body')
        if (!membership.isDevice(deviceId)) return this.#awaitDevice(entry, deviceId, 'replica announcement')
        this.#replicas.set(replicating.peer, replicating.hints.filter((hint) => hint.includes(`/p2p/${replicating.peer}`)))
        return
      }
      default:
        return this.#drop(entry, 'unknown-type', `metadata event type ${type}`)
    }
  }

  /** A role granted or revoked, or an epoch started, by a device known to be a member, in an entry whose clock is its parents' plus one. */
  async #takeAuthority (entry: HashedEntry, type: number, deviceId: string, device: Uint8Array, body: Uint8Array, followUps: FollowUps): Promise<void> {
    const { membership, roles } = this.#deps
    if (this.#deps.contact !== undefined) return this.#drop(entry, 'not-a-member', 'a contact group has no admins nor epochs')
    if (!membership.isDevice(deviceId)) return this.#awaitDevice(entry, deviceId, 'authority event')
    const author = (membership.memberOf(deviceId) as { account: string }).account
    // Their order decides what holds: a clock set back by hand would move one ahead of others.
    if (!await this.#clockFollowsParents(entry)) return this.#drop(entry, 'bad-clock', 'its clock is not its parents\' plus one')
    const base = { hash: entry.hash, time: entry.clock.time, author }
    if (type === MetadataEventType.EpochStarted) {
      const started = decodeBody(body, epochStartedSchema)
      if (started === undefined) return this.#drop(entry, 'malformed', 'EpochStarted body')
      roles.add({ ...base, kind: 'epoch', change: { hash: entry.hash, author, device, body: started, removed: new Set(started.r.map(keyToId)) } })
    } else {
      const change = decodeBody(body, roleChangeSchema)
      if (change === undefined) return this.#drop(entry, 'malformed', 'role change body')
      roles.add({ ...base, kind: type === MetadataEventType.AdminRoleGranted ? 'grant' : 'revoke', target: keyToId(change.m) })
    }
    followUps.authority = true
  }

  async #clockFollowsParents (entry: HashedEntry): Promise<boolean> {
    let time = 0
    for (const parent of entry.next) {
      const found = await this.#deps.log.get(parent)
      if (found === undefined) return false
      time = Math.max(time, found.clock.time)
    }
    return entry.clock.time === time + 1
  }

  /** A display name or the group's name, from a device known to be a member. */
  #applyInfo (entry: HashedEntry, deviceId: string, bytes: Uint8Array): void {
    const decoded = decodeAppMessage(bytes)
    if (!decoded.ok) return this.#drop(entry, decoded.reason, decoded.detail)
    const message = decoded.message
    if (message.type === AppMessageType.SetUserInfo) {
      this.#deps.membership.setDisplayName(deviceId, message.displayName, message.sentAt)
    } else if (message.type === AppMessageType.SetGroupInfo) {
      if (this.#groupName === undefined || message.sentAt >= this.#groupName.sentAt) this.#groupName = { name: message.name, sentAt: message.sentAt }
    } else {
      this.#drop(entry, 'unknown-type', `app message type ${message.type} does not belong on the metadata log`)
    }
  }

  /** Opens the box addressed to us in `sealed` (or the one box of an earlier build's entry), if any: that device's chain, from now on. */
  async #acceptChainKey (entry: HashedEntry, device: Uint8Array, sealed: SealedChainKeys | { to: Uint8Array, box: Uint8Array }, followUps: FollowUps): Promise<void> {
    const { identity, state, keys, chains } = this.#deps
    const deviceId = keyToId(device)
    // Our own boxes are not ours to open, nor boxes to others (told apart before the chain is looked up on disk).
    if (deviceId === keyToId(identity.device.publicKey)) return
    const ownKey = identity.account.publicKey
    if ('to' in sealed && !equalBytes(sealed.to, ownKey)) return
    if ('k' in sealed && !sealed.k.some(([to]) => equalBytes(to, ownKey.subarray(0, to.length)))) return
    if (await chains.get(deviceId) !== undefined) return
    const shared = 'k' in sealed ? openChainKeys(identity.account, device, keys.publicKey, sealed) : openChainKey(identity.account, device, keys.publicKey, sealed.box)
    if (shared === undefined) return this.#drop(entry, 'wrong-key', 'chain key box does not open')
    const chain = receiverChainFrom(shared)
    await state.batch([chains.putOp(deviceId, chain)])
    chains.remember(deviceId, chain)
    followUps.newlyReadable.add(deviceId)
  }

  async #deliverMemberJoined (entryHash: string, deviceId: string): Promise<void> {
    const { state, events, group } = this.#deps
    if (this.#joinsAwaitingHandled.has(entryHash)) return
    if (await state.statuses.entryStatus(this.#deps.stateId, 'metadata', entryHash) !== undefined) return
    const member = this.#deps.membership.memberOf(deviceId)
    if (member === undefined) return
    this.#joinsAwaitingHandled.add(entryHash)
    events.deliver('memberJoined', {
      group,
      member: { account: member.account, device: deviceId, displayName: member.displayName },
      markHandled: once(async () => {
        await state.batch([state.statuses.setStatusOp(this.#deps.stateId, 'metadata', entryHash, 'handled')])
        this.#joinsAwaitingHandled.delete(entryHash)
      })
    })
  }
}
