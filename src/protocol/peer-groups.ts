/**
 * The groups a peer has open: opening each (one it created or joined, a
 * contact's, one it held at start) once at a time, and letting go of those it
 * left. A group left stays open out of sight until another peer of the group
 * has the leave (`group.whenLeft()`), then its keys and state are forgotten;
 * a stop in between finishes that at the next start.
 */
import { AbortError, raceAbort, type AbortOptions } from './abort.ts'
import { bytesToHex } from './crypto.ts'
import type { GroupDeps } from './group-deps.ts'
import { OpenGroup } from './group.ts'
import { deriveContactGroupKeys, groupId } from './group-keys.ts'
import type { Group } from './handles.ts'
import type { IdentityKeys } from './keystore.ts'
import type { Logger } from './logger.ts'
import type { GroupRecord } from './state-records.ts'
import type { StateStore } from './state-store.ts'
import { NotRunningError } from './errors.ts'

export interface PeerGroupsDeps {
  /** What each group is opened with, but `onLeft`, which this sets. */
  groups: Omit<GroupDeps, 'onLeft'>
  identity: IdentityKeys
  state: StateStore
  logger: Logger
  now: () => number
  /** Told of each group opened (`groupOpened`). */
  opened: (group: Group) => void
}

export class PeerGroups {
  readonly #deps: PeerGroupsDeps
  readonly #groupDeps: GroupDeps
  readonly #open = new Map<string, OpenGroup>()
  readonly #opening = new Map<string, Promise<OpenGroup>>()
  /** Groups left, open until a member has the leave. */
  readonly #leaving = new Set<OpenGroup>()
  /** Contact account key (hex) → the id of the contact group, derived once. */
  readonly #contactGroupIds = new Map<string, string>()

  constructor (deps: PeerGroupsDeps) {
    this.#deps = deps
    this.#groupDeps = { ...deps.groups, onLeft: (group) => { this.#left(group as OpenGroup) } }
  }

  list (): Group[] {
    return [...this.#open.values()]
  }

  get (id: string): Group | undefined {
    return this.#open.get(id)
  }

  /** A group open or being opened, for a second join of it. */
  async existing (id: string, options: AbortOptions, what: string): Promise<Group | undefined> {
    const existing = this.#open.get(id) ?? this.#opening.get(id)
    return existing === undefined ? undefined : await raceAbort(existing, options.signal, what)
  }

  contactGroupId (contactPk: Uint8Array): string {
    const hex = bytesToHex(contactPk)
    let id = this.#contactGroupIds.get(hex)
    if (id === undefined) {
      id = groupId(deriveContactGroupKeys(this.#deps.identity.account, contactPk))
      this.#contactGroupIds.set(hex, id)
    }
    return id
  }

  async openContact (contact: { pk: Uint8Array, displayName: string, hints: string[] }, options: AbortOptions = {}): Promise<Group> {
    const keys = deriveContactGroupKeys(this.#deps.identity.account, contact.pk)
    const id = groupId(keys)
    const existing = await this.existing(id, options, 'opening the contact group')
    if (existing !== undefined) return existing
    return await this.open(id, {
      kind: 'contact',
      pk: keys.publicKey,
      secret: keys.secret,
      linkKeySig: keys.linkKeySig,
      name: contact.displayName,
      hints: contact.hints.filter((hint) => hint.includes('/p2p/')),
      joinedAt: this.#deps.now(),
      contact: contact.pk
    }, options)
  }

  /**
   * Opens a group, saving its record first unless it was read from the state
   * database. One aborted while it waited to hear from a member is closed
   * again and its record forgotten: the peer never joined it.
   */
  async open (id: string, record: GroupRecord, options: { creating?: boolean, save?: boolean } & AbortOptions): Promise<OpenGroup> {
    const { creating = false, save = true, signal } = options
    const opening = (async () => {
      if (save) await this.#deps.state.putGroup(id, record)
      let group: OpenGroup
      try {
        group = await OpenGroup.open(this.#groupDeps, record, { creating, signal })
      } catch (err) {
        if (save && err instanceof AbortError) await this.#deps.state.deleteGroup(id)
        throw err
      }
      if (group.leaving) {
        this.#left(group)
      } else {
        this.#open.set(id, group)
        this.#deps.opened(group)
      }
      return group
    })()
    this.#opening.set(id, opening)
    try {
      return await opening
    } finally {
      this.#opening.delete(id)
    }
  }

  /** Closes every group (those being left too, which finish at the next start). */
  async stop (): Promise<void> {
    await Promise.allSettled(this.#opening.values())
    for (const group of [...this.#open.values(), ...this.#leaving]) {
      await group.close().catch((err: unknown) => { this.#deps.logger.warn({ err, group: group.id }, 'group did not close cleanly') })
    }
    this.#open.clear()
  }

  #left (group: OpenGroup): void {
    this.#open.delete(group.id)
    this.#leaving.add(group)
    group.whenLeft().then(async () => {
      await group.close()
      await this.#deps.state.forgetGroup(group.id, group.stateIds())
      this.#leaving.delete(group)
      this.#deps.logger.info({ group: group.id }, 'left the group: its keys are forgotten')
    }, (err: unknown) => {
      this.#leaving.delete(group)
      if (!(err instanceof NotRunningError)) this.#deps.logger.warn({ err, group: group.id }, 'could not finish leaving the group; it goes on at the next start')
    })
  }
}
