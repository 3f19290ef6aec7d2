/**
 * One epoch of a group: its keys (a group key, a secret, the signing and link
 * keys they give), its two logs, who is in it and who may do what there (the
 * metadata log, `metadata-log.ts`), its messages (`message-pipeline.ts`), and
 * what this device sends there (`group-sender.ts`). A group starts with one
 * epoch; each removal starts another, which the members who stay move to
 * (`group.ts` holds a group's epochs and knows which is current).
 *
 * Metadata log (WESH.md §2.5): read whole each time the epoch opens. This
 * device announces itself there (`MemberDeviceAdded`, with its chain key
 * sealed to the members it knows); members who join later get the key in the
 * headers of its next message.
 */
import { throwIfAborted } from './abort.ts'
import { DeviceChains } from './device-chains.ts'
import { keyToId } from './encoding.ts'
import { EpochClosure } from './epoch-closure.ts'
import { MetadataEventType } from './envelope.ts'
import type { InitialAdmins } from './epoch-envelope.ts'
import { GroupConnector } from './group-connector.ts'
import type { GroupDeps } from './group-deps.ts'
import type { GroupKeys } from './group-keys.ts'
import { openGroupLogs, type GroupLog } from './group-log.ts'
import { GroupRoles } from './group-roles.ts'
import { GroupScans } from './group-scans.ts'
import { GroupSender } from './group-sender.ts'
import type { Group } from './handles.ts'
import type { HashedEntry } from './log-order.ts'
import type { Logger } from './logger.ts'
import { Membership, type Member } from './membership.ts'
import { MessagePipeline } from './message-pipeline.ts'
import { MetadataLog } from './metadata-log.ts'
import { groupRendezvousCid } from './rendezvous.ts'

/** How long a newcomer waits to hear from a member before it joins without knowing anyone. */
const FIRST_SYNC_TIMEOUT_MS = 3_000

/**
 * How this device comes to the epoch: it made the group (`create`); it was
 * invited, or opens an epoch it held before (`join`: it first waits to hear
 * from a member, unless it announced itself there already); it moves in from
 * the epoch before, whose members it knows (`follow`).
 */
export type EpochArrival = 'create' | 'join' | 'follow'

export interface EpochSetup {
  /** The group, as events name it. */
  group: Group
  keys: GroupKeys
  /** Where the epoch's state is kept: the epoch's id (a group's first epoch's is the group's id). */
  stateId: string
  /** Contact groups: the other account's public key. */
  contact: Uint8Array | undefined
  /** Where to look for the group's peers, besides the replicas announced in this epoch. */
  hints: () => string[]
  arrival: EpochArrival
  /**
   * The epoch's genesis (its first admins and members), when this peer knows
   * it already: it made the epoch, or read it in the change that started it.
   */
  genesis?: InitialAdmins | undefined
  /** The members of the epoch before, with their names there, until they give theirs here: no news when they show up. */
  names?: Map<string, string | undefined> | undefined
  /**
   * When this peer is the one to set the epoch up: it posts the genesis (if
   * the log has none yet), the group's name and the replicas keeping the group,
   * so that members invited into this epoch learn them.
   */
  founder?: { groupName: string | undefined, replicas: () => Array<[string, string[]]> } | undefined
  /** Told when the admins or the epoch's end changed. */
  onChanged: () => void
}

export class Epoch {
  /** The epoch's id: its group key, as a string. */
  readonly id: string
  readonly keys: GroupKeys
  readonly roles: GroupRoles
  readonly membership = new Membership()
  readonly #deps: GroupDeps
  readonly #setup: EpochSetup
  readonly #logger: Logger
  readonly #scans: GroupScans
  readonly #chains: DeviceChains
  #metadata!: GroupLog
  #messages!: GroupLog
  #metadataLog!: MetadataLog
  #pipeline!: MessagePipeline
  #sender!: GroupSender
  #connector!: GroupConnector
  /** Where the log stood when the epoch ended, for what its removed members wrote (one per winning change). */
  #closure: { hash: string, closure: EpochClosure, retried: boolean } | undefined
  #closed = false

  private constructor (deps: GroupDeps, setup: EpochSetup) {
    this.#deps = deps
    this.#setup = setup
    this.keys = setup.keys
    this.id = keyToId(setup.keys.publicKey)
    this.#logger = deps.logger.child({ group: setup.group.id, ...(this.id === setup.group.id ? {} : { epoch: this.id }) })
    this.roles = new GroupRoles(this.#logger)
    this.#chains = new DeviceChains(deps.state, setup.stateId)
    this.#scans = new GroupScans({ metadata: async () => { await this.#scanMetadata() }, messages: async () => { await this.#scanMessages() } }, this.#logger, () => this.#closed)
  }

  /** Opens the epoch; a newcomer's wait to hear from a member ends with `AbortError` when `signal` aborts, and closes it again. */
  static async open (deps: GroupDeps, setup: EpochSetup, signal?: AbortSignal): Promise<Epoch> {
    const epoch = new Epoch(deps, setup)
    try {
      await epoch.#start(signal)
    } catch (err) {
      await epoch.close().catch((closing: unknown) => { epoch.#logger.warn({ err: closing }, 'an epoch whose opening failed did not close cleanly') })
      throw err
    }
    return epoch
  }

  get sender (): GroupSender {
    return this.#sender
  }

  get metadata (): GroupLog {
    return this.#metadata
  }

  get messages (): GroupLog {
    return this.#messages
  }

  /** The group's name as members last set it in this epoch, if they did. */
  get groupName (): string | undefined {
    return this.#metadataLog.groupName
  }

  /** The replicas announced in this epoch: peer id → addresses. */
  get replicas (): ReadonlyMap<string, string[]> {
    return this.#metadataLog.replicas
  }

  /** Members, with their roles. */
  members (): Member[] {
    return this.membership.list((account) => this.roles.admins.has(account))
  }

  /** Who wrote message `hash` of this epoch's log, if it is one whose author is known. */
  async authorOf (hash: string): Promise<string | undefined> {
    return await this.#pipeline.authorOf(hash)
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#pipeline?.close()
    await this.#connector?.stop()
    await this.#scans.idle()
    await this.#sender?.close()
    for (const log of [this.#metadata, this.#messages]) {
      if (log === undefined) continue
      this.#deps.sync.unregister(log.address)
      await log.close()
    }
  }

  async #start (signal: AbortSignal | undefined): Promise<void> {
    const { state, sync, libp2p, identity } = this.#deps
    const { group, keys, stateId, contact, arrival } = this.#setup
    const logs = await openGroupLogs(this.#deps.logs, { groupKey: keys.publicKey, signing: keys.signing })
    this.#metadata = logs.metadata
    this.#messages = logs.messages
    const { genesis, names } = this.#setup
    if (genesis !== undefined) {
      this.roles.addGenesis(genesis)
      this.roles.settle()
      for (const key of genesis.m) {
        const account = keyToId(key)
        this.membership.addExpected(key, { known: names?.has(account) === true, displayName: names?.get(account) })
      }
    }
    this.#metadataLog = new MetadataLog({
      group,
      stateId,
      keys,
      identity,
      state,
      log: this.#metadata,
      membership: this.membership,
      chains: this.#chains,
      events: this.#deps.events,
      logger: this.#logger,
      contact: contact === undefined ? undefined : keyToId(contact),
      roles: this.roles,
      onRolesChanged: () => { this.#setup.onChanged() },
      onMemberSeen: (account) => { this.#deps.onMemberSeen(group, account) },
      onNewlyReadable: async (devices) => {
        // One read of who is waited for, rather than one per device: a group's whole metadata log is applied at each open.
        for (const device of await state.statuses.waitingDevices(stateId)) if (devices.has(device)) await this.#pipeline.retryWaiting(device)
      }
    })
    this.#pipeline = new MessagePipeline({
      group,
      stateId,
      keys,
      identity,
      state,
      log: this.#messages,
      appendedHere: (hash) => this.#messages.appendedHere(hash),
      membership: this.membership,
      chains: this.#chains,
      events: this.#deps.events,
      logger: this.#logger,
      joinGroup: this.#deps.joinGroup,
      admits: async (account, entry) => await this.#admits(account, entry),
      admins: () => this.roles.admins,
      rescan: () => { this.#scans.schedule('messages') },
      now: this.#deps.now,
      files: this.#deps.files
    })
    this.#sender = await GroupSender.open({
      groupId: group.id,
      stateId,
      keys,
      identity,
      state,
      sync,
      membership: this.membership,
      metadata: this.#metadata,
      messages: this.#messages,
      contactKey: contact,
      displayName: this.#deps.displayName,
      now: this.#deps.now,
      closed: () => this.#closed,
      files: this.#deps.files
    })
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
      hints: () => [...this.#setup.hints(), ...[...this.#metadataLog.replicas.values()].flat()],
      knownPeers: async () => await state.groupPeers(group.id),
      ...(libp2p.services.dht === undefined ? {} : { rendezvous: await groupRendezvousCid(keys.linkKey) })
    })
    this.#connector.start()

    await this.#scans.run(async () => { await this.#scanMetadata() })
    // A newcomer first learns who is there, so that it joins in one entry that
    // carries its chain key sealed to each of them; with nobody to answer, it joins alone.
    if (arrival === 'join' && !this.#metadataLog.ownDeviceAnnounced) {
      await sync.whenSynced(this.#metadata.address, FIRST_SYNC_TIMEOUT_MS, { signal })
      // The last moment to give up: from the announcement on, the others know of this device.
      throwIfAborted(signal, 'joining the group')
    }
    await this.#scans.run(async () => {
      await this.#scanMetadata()
      const { founder } = this.#setup
      const founding = founder !== undefined && genesis !== undefined && !this.#metadataLog.genesisSeen
      if (founding) await this.#sender.postMetadata(MetadataEventType.InitialAdmins, genesis)
      await this.#sender.announce({ announced: this.#metadataLog.ownDeviceAnnounced, groupName: founding || arrival === 'create' ? founder?.groupName : undefined })
      if (founding) {
        for (const [peer, hints] of new Map(founder.replicas())) {
          if (!this.#metadataLog.replicas.has(peer)) await this.#sender.postMetadata(MetadataEventType.GroupReplicating, { peer, hints })
        }
      }
      for (const device of await state.statuses.waitingDevices(stateId)) await this.#pipeline.retryWaiting(device)
      await this.#scanMessages()
    })
  }

  /** Reads the metadata log again now, in turn with the other scans (after this peer posted there). */
  async rescan (): Promise<void> {
    await this.#scans.run(async () => { await this.#scanMetadata() })
  }

  async #scanMetadata (): Promise<void> {
    const applied = await this.#metadataLog.scan()
    // New devices or keys may unblock deferred messages.
    if (applied > 0 && this.#pipeline.hasDeferred) this.#scans.schedule('messages')
  }

  async #scanMessages (): Promise<void> {
    await this.#pipeline.scan()
    // Entries of a removed member that waited past their grace for where the log stood: look again once it is known.
    const current = this.#closure
    if (current === undefined || current.retried || !await current.closure.ready()) return
    current.retried = true
    for (const account of current.closure.removed) {
      for (const device of this.membership.member(account)?.devices ?? []) await this.#pipeline.retryWaiting(device)
    }
  }

  /** Whether to take an entry of `account`'s: not one written by a member this epoch's end removed, after it. */
  async #admits (account: string, entry: HashedEntry): Promise<'admit' | 'refuse' | 'wait'> {
    const winner = this.roles.winner
    if (winner === undefined || !winner.removed.has(account)) return 'admit'
    if (this.#closure?.hash !== winner.hash) this.#closure = { hash: winner.hash, closure: new EpochClosure(this.#messages, winner.removed, winner.body.c), retried: false }
    return await this.#closure.closure.admits(account, entry)
  }
}
