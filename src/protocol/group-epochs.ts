/**
 * A group's epochs as this peer holds them, and which one is current.
 *
 * An epoch ends when an admin removes a member (or a member leaves): the
 * `EpochStarted` entry on its metadata log names who leaves, and carries the
 * new epoch's secret sealed to each member who stays. Those members open
 * their box, keep the epoch in the group's record, and move in; the member
 * removed finds no box, and learns it was removed. Starting from the first
 * epoch the peer held, the current one is found by following, at each epoch,
 * the change that won there (`group-roles.ts` orders them), as long as the
 * peer holds the epoch it leads to.
 *
 * Every epoch held stays open: messages sent in one before its members learnt
 * of its end still arrive there, and are delivered with the rest. A removal
 * that lost to a concurrent one (two admins at once) is made again in the
 * epoch that won, by its author (a member's leave, by any admin), so that
 * both removals hold in the end.
 */
import PQueue from 'p-queue'
import { equalBytes } from './crypto.ts'
import { idToKey, keyToId } from './encoding.ts'
import { MetadataEventType, openMessageHeaders } from './envelope.ts'
import { openEpochSecret, sealEpochPointer, sealEpochSecret, verifyInitialAdmins, type EpochStarted, type InitialAdmins } from './epoch-envelope.ts'
import { DataDirectoryError, InvalidOptionError, NotAdminError, RemovedFromGroupError } from './errors.ts'
import type { GroupDeps } from './group-deps.ts'
import { Epoch, type EpochArrival } from './group-epoch.ts'
import { createEpoch, groupKeysFromParts, type GroupKeys } from './group-keys.ts'
import { isLeaving, type EpochChange } from './group-roles.ts'
import type { Group, SealedMessage } from './handles.ts'
import type { StoredEntry } from './log-entry.ts'
import type { Logger } from './logger.ts'
import type { EpochRecord, GroupRecord } from './state-records.ts'

export interface GroupEpochsSetup {
  /** The group, as events name it. */
  group: Group
  record: GroupRecord
  logger: Logger
  /** Where to look for the group's peers: the invitation's hints, and the replicas of every epoch. */
  hints: () => string[]
  /** The group's name, as its members last set it. */
  name: () => string
  /** Told after the epochs, the roles, or whether this peer is still a member, may have changed. */
  onChanged: () => void
}

export class GroupEpochs {
  readonly #deps: GroupDeps
  readonly #setup: GroupEpochsSetup
  readonly #own: string
  /** The epochs open: the first this peer held, then in the order it got them. */
  readonly #open: Epoch[] = []
  #current!: Epoch
  #removed = false
  /** One change of epochs at a time. */
  readonly #line = new PQueue({ concurrency: 1 })
  /** Lost epoch changes made again (or found done), by entry hash. */
  readonly #redone = new Set<string>()
  /** Epoch changes whose box did not open, reported once. */
  readonly #unopened = new Set<string>()
  #closed = false
  /** The epoch each message sealed in this session was sealed in (by its bytes): `epochOf` need not open them. */
  readonly #sealedIn = new WeakMap<Uint8Array, Epoch>()
  /** Settles when `open` does. */
  readonly #opened: Promise<void>
  #settleOpened = { resolve: () => {}, reject: (_err: unknown) => {} }

  constructor (deps: GroupDeps, setup: GroupEpochsSetup) {
    this.#opened = new Promise<void>((resolve, reject) => { this.#settleOpened = { resolve, reject } })
    this.#opened.catch(() => {})
    // A contact seen in the metadata read while the group opens is the contact accepting, and whoever
    // hears of it may send at once: it is told once the group has a current epoch to send in.
    const onMemberSeen: GroupDeps['onMemberSeen'] = (group, account) => {
      this.#opened.then(() => { deps.onMemberSeen(group, account) }, () => {})
    }
    this.#deps = { ...deps, onMemberSeen }
    this.#setup = setup
    this.#own = keyToId(deps.identity.account.publicKey)
  }

  get list (): readonly Epoch[] {
    return this.#open
  }

  get current (): Epoch {
    return this.#current
  }

  /** Whether the epoch change that ended this peer's last epoch removed it (or was its own leave). */
  get removed (): boolean {
    return this.#removed
  }

  /** Whether this peer left the group itself (its leave is the change that ended its last epoch). */
  get leftByUs (): boolean {
    const winner = this.#current.roles.winner
    return this.#removed && winner !== undefined && winner.author === this.#own && isLeaving(winner)
  }

  /** Opens the first epoch this peer held (the epochs after it open as their changes are read). */
  async open (options: { creating: boolean, signal?: AbortSignal | undefined }): Promise<void> {
    const { record } = this.#setup
    const keys = groupKeysFromParts({ kind: record.kind, publicKey: record.pk, secret: record.secret, secretSig: record.secretSig, linkKeySig: record.linkKeySig })
    try {
      if (keys === undefined) throw new DataDirectoryError(`group ${keyToId(record.pk)} has keys that do not match its signatures`)
      await this.#line.add(async () => {
        const arrival: EpochArrival = options.creating ? 'create' : 'join'
        this.#current = await this.#openEpoch(keys, { arrival, genesis: record.genesis, founder: options.creating, signal: options.signal })
      })
      await this.advance()
      this.#settleOpened.resolve()
    } catch (err) {
      this.#settleOpened.reject(err)
      throw err
    }
  }

  /** Moves into the epochs whose changes were read (and were for this peer), and finds the current one again. */
  async advance (): Promise<void> {
    await this.#line.add(async () => {
      if (this.#closed) return
      for (let i = 0; i < this.#open.length; i++) {
        const epoch = this.#open[i] as Epoch
        for (const change of changesOf(epoch)) await this.#follow(epoch, change)
      }
      this.#settleCurrent()
    })
    if (!this.#closed) this.#setup.onChanged()
    this.#redoLost()
  }

  /**
   * Starts an epoch without `removed` (account keys): an admin removing
   * members, or this peer leaving (`leaving`, removing itself). Resolves with
   * the entry that started it, once the group moved on; `undefined` when
   * nobody stays (the last member left).
   */
  async startEpoch (removed: Uint8Array[], leaving: boolean): Promise<StoredEntry | undefined> {
    const started = await this.#line.add(async () => {
      const epoch = this.#current
      if (this.#removed) throw new RemovedFromGroupError(`this peer is no longer in group ${this.#setup.group.id}`)
      const members = epoch.members()
      const removedIds = new Set(removed.map(keyToId))
      if (!leaving) {
        if (epoch.roles.genesis === undefined) throw new NotAdminError('this group has no admins: it was made before bertybot had roles, or its first entries have not reached this peer yet')
        if (!epoch.roles.admins.has(this.#own)) throw new NotAdminError('only the group\'s admins can remove members')
        for (const id of removedIds) if (!members.some((m) => m.account === id)) throw new InvalidOptionError(`${id} is not a member of the group`)
      }
      const stays = members.filter((m) => !removedIds.has(m.account)).map((m) => epoch.membership.accountKey(m.account) as Uint8Array)
      if (stays.length === 0) return undefined
      const admins = [...epoch.roles.admins].filter((a) => !removedIds.has(a)).map((a) => idToKey(a) as Uint8Array)
      const made = createEpoch({ a: admins, m: stays, p: epoch.keys.publicKey })
      const keys = made.keys
      const genesis = made.genesis as InitialAdmins
      const body: EpochStarted = {
        r: removed,
        g: genesis,
        pk: keys.publicKey,
        ss: keys.secretSig as Uint8Array,
        ls: keys.linkKeySig as Uint8Array,
        k: sealEpochSecret(this.#deps.identity.device, stays, epoch.keys.publicKey, keys.publicKey, keys.secret),
        c: epoch.messages.heads()
      }
      const pointer = sealEpochPointer(epoch.keys.linkKey, epoch.keys.publicKey, { pk: keys.publicKey, signPub: keys.signing.publicKey, linkKey: keys.linkKey, linkKeySig: body.ls })
      // Kept before it is announced: a crash in between leaves an epoch nobody heard of, never one this peer lost the keys to.
      if (!leaving) await this.#saveEpoch({ pk: keys.publicKey, secret: keys.secret, secretSig: body.ss, linkKeySig: body.ls, parent: epoch.keys.publicKey, genesis })
      return { epoch, entry: await epoch.sender.postMetadata(MetadataEventType.EpochStarted, body, pointer) }
    })
    if (started === undefined) return undefined
    await started.epoch.rescan()
    await this.advance()
    return started.entry
  }

  /** Grants (or revokes) the admin role, as an admin of the current epoch; resolves once the roles show it. */
  async changeRole (account: Uint8Array, grant: boolean): Promise<void> {
    const epoch = this.#current
    const id = keyToId(account)
    if (!epoch.roles.admins.has(this.#own)) throw new NotAdminError('only the group\'s admins can grant or revoke the admin role')
    if (epoch.membership.member(id) === undefined) throw new InvalidOptionError(`${id} is not a member of the group`)
    await epoch.sender.postMetadata(grant ? MetadataEventType.AdminRoleGranted : MetadataEventType.AdminRoleRevoked, { m: account })
    await epoch.rescan()
  }

  /** Notes that `epoch` sealed these messages, for `epochOf`; returns them. */
  sealedBy (epoch: Epoch, sealed: SealedMessage[]): SealedMessage[] {
    for (const message of sealed) this.#sealedIn.set(message.bytes, epoch)
    return sealed
  }

  /** The epoch that sealed a message in this session, or else the one whose secret opens its headers. */
  epochOf (sealed: Uint8Array): Epoch | undefined {
    const known = this.#sealedIn.get(sealed)
    if (known !== undefined) return known
    for (const epoch of [this.#current, ...this.#open]) if (openMessageHeaders(epoch.keys.secret, sealed).ok) return epoch
    return undefined
  }

  /** This peer's leave made before a restart, and not known to have reached anyone: the log it is in, and its time there at most. */
  pendingLeave (): { address: string, time: number } | undefined {
    const epoch = this.#current
    if (!this.leftByUs || epoch.members().every((m) => m.account === this.#own)) return undefined
    return { address: epoch.metadata.address, time: epoch.metadata.time }
  }

  async close (): Promise<void> {
    this.#closed = true
    await this.#line.onIdle()
    for (const epoch of this.#open) await epoch.close()
  }

  async #openEpoch (keys: GroupKeys, options: { arrival: EpochArrival, genesis?: InitialAdmins | undefined, names?: Map<string, string | undefined>, founder: boolean, signal?: AbortSignal | undefined }): Promise<Epoch> {
    const { group, record, hints, name } = this.#setup
    const replicas = (): Array<[string, string[]]> => this.#open.flatMap((epoch) => [...epoch.replicas])
    const epoch = await Epoch.open(this.#deps, {
      group,
      keys,
      stateId: keyToId(keys.publicKey),
      contact: record.contact,
      hints,
      arrival: options.arrival,
      genesis: options.genesis,
      names: options.names,
      founder: options.founder ? { groupName: options.arrival === 'create' ? record.name : name(), replicas } : undefined,
      onChanged: () => { this.advance().catch((err: unknown) => { this.#setup.logger.warn({ err }, 'could not follow the group to a new epoch') }) }
    }, options.signal)
    this.#open.push(epoch)
    return epoch
  }

  /** Moves into the epoch `change` starts, if it keeps this peer: with the keys kept, or from its box. */
  async #follow (parent: Epoch, change: EpochChange): Promise<void> {
    const { body } = change
    if (this.#open.some((epoch) => equalBytes(epoch.keys.publicKey, body.pk))) return
    const kept = this.#setup.record.epochs?.find((epoch) => equalBytes(epoch.pk, body.pk))
    let keys: GroupKeys | undefined
    if (kept !== undefined) {
      keys = groupKeysFromParts({ kind: 'multi-member', publicKey: kept.pk, secret: kept.secret, secretSig: kept.secretSig, linkKeySig: kept.linkKeySig })
    } else {
      if (!body.g.m.some((member) => equalBytes(member, this.#deps.identity.account.publicKey))) return
      const secret = openEpochSecret(this.#deps.identity.account, change.device, parent.keys.publicKey, body.pk, body.k)
      keys = secret === undefined ? undefined : groupKeysFromParts({ kind: 'multi-member', publicKey: body.pk, secret, secretSig: body.ss, linkKeySig: body.ls })
      const genesisHolds = verifyInitialAdmins(body.pk, body.g) && body.g.p !== undefined && equalBytes(body.g.p, parent.keys.publicKey)
      if (keys === undefined || !genesisHolds) {
        if (!this.#unopened.has(change.hash)) this.#setup.logger.warn({ entry: change.hash, reason: keys === undefined ? 'wrong-key' : 'bad-signature' }, 'an epoch change names this peer, but its keys do not hold: not followed')
        this.#unopened.add(change.hash)
        return
      }
      await this.#saveEpoch({ pk: keys.publicKey, secret: keys.secret, secretSig: body.ss, linkKeySig: body.ls, parent: parent.keys.publicKey })
    }
    if (keys === undefined) throw new DataDirectoryError(`an epoch of group ${this.#setup.group.id} has keys that do not match its signatures`)
    const names = new Map(parent.members().flatMap((m) => m.account === this.#own ? [] : [[m.account, m.displayName] as [string, string | undefined]]))
    // The one who started it posts its genesis, name and replicas there; when that one left, the first who stays.
    const staying = body.g.m.map(keyToId)
    const founder = staying.includes(change.author) ? change.author : staying.sort()[0]
    await this.#openEpoch(keys, { arrival: 'follow', genesis: body.g, names, founder: founder === this.#own })
  }

  #settleCurrent (): void {
    let epoch = this.#open[0] as Epoch
    let removed = false
    for (;;) {
      const winner = epoch.roles.winner
      if (winner === undefined) break
      const next = this.#open.find((candidate) => equalBytes(candidate.keys.publicKey, winner.body.pk))
      if (next === undefined) {
        removed = winner.removed.has(this.#own)
        break
      }
      epoch = next
    }
    if (epoch !== this.#current) this.#setup.logger.info({ epoch: epoch.id }, 'the group moved to a new epoch')
    this.#current = epoch
    this.#removed = removed
  }

  /** Removals that lost to a concurrent one, made again where they are still to be made. */
  #redoLost (): void {
    const current = this.#current
    if (this.#closed || this.#removed || !current.roles.admins.has(this.#own)) return
    for (const epoch of this.#open) {
      for (const lost of epoch.roles.losers) {
        if (this.#redone.has(lost.hash) || (lost.author !== this.#own && !isLeaving(lost))) continue
        const still = [...lost.removed].filter((account) => account !== this.#own && current.membership.member(account) !== undefined)
        this.#redone.add(lost.hash)
        if (still.length === 0) continue
        this.#setup.logger.info({ entry: lost.hash, members: still }, 'a removal lost to a concurrent one: removing again')
        this.startEpoch(still.map((account) => idToKey(account) as Uint8Array), false).catch((err: unknown) => {
          this.#setup.logger.warn({ err }, 'could not make a lost removal again')
        })
      }
    }
  }

  async #saveEpoch (epoch: EpochRecord): Promise<void> {
    const { record, group } = this.#setup
    record.epochs = [...(record.epochs ?? []), epoch]
    await this.#deps.state.putGroup(group.id, record)
  }
}

function changesOf (epoch: Epoch): EpochChange[] {
  const { winner, losers } = epoch.roles
  return winner === undefined ? [...losers] : [winner, ...losers]
}
