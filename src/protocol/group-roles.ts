/**
 * Who may do what in one epoch of a group, as its metadata log says: the
 * admins, and the epoch change that ends the epoch.
 *
 * The epoch's first admins come from its genesis (`InitialAdmins`, signed by
 * the epoch's group key, which nobody holds afterwards). Then the authority
 * events (a role granted or revoked, an epoch started) are applied in one
 * order that every member computes alike whatever order they arrived in: by
 * their entries' clock time, then hash (concurrent entries have no causal
 * order; this gives them one). Each is checked against the admins at its
 * place in that order: one by a non-admin is dropped with a logged reason
 * (a member leaving, who removes only itself, needs no role). The first
 * epoch change that holds wins: the epoch ends there, and what comes after it
 * in the order is for the next epoch. Later epoch changes that held at their
 * place lose; what they removed is removed again in the winner (`group.ts`).
 *
 * Since every event is looked at again each time one arrives, an event that
 * arrives late and sorts early changes the outcome the same way on every member.
 */
import { keyToId } from './encoding.ts'
import type { EpochStarted, InitialAdmins } from './epoch-envelope.ts'
import type { Logger } from './logger.ts'

/** A role granted or revoked, or an epoch started, as read from the metadata log. */
export type AuthorityEvent = { hash: string, time: number, author: string } & (
  | { kind: 'grant' | 'revoke', target: string }
  | { kind: 'epoch', change: EpochChange }
)

/** An epoch change, as one member of the old epoch announced it. */
export interface EpochChange {
  /** The entry that announced it. */
  readonly hash: string
  /** Its author's account id, and the device that signed it (its secret boxes are sealed by that device). */
  readonly author: string
  readonly device: Uint8Array
  readonly body: EpochStarted
  /** Account ids of the members it removes (the author alone: the author leaves). */
  readonly removed: ReadonlySet<string>
}

export interface Genesis {
  admins: Set<string>
  /** Account keys of the epoch's first members. */
  members: Uint8Array[]
  /** The epoch this one follows, if any. */
  parent: Uint8Array | undefined
}

export class GroupRoles {
  readonly #logger: Logger
  #genesis: Genesis | undefined
  readonly #events = new Map<string, AuthorityEvent>()
  #admins = new Set<string>()
  #winner: EpochChange | undefined
  #losers: EpochChange[] = []
  /** Events already logged as dropped: each is logged once. */
  readonly #reported = new Set<string>()

  constructor (logger: Logger) {
    this.#logger = logger
  }

  /** The epoch's genesis, once it is known. */
  get genesis (): Genesis | undefined {
    return this.#genesis
  }

  /** Account ids of the admins, as of the epoch change that ended the epoch (if one did). */
  get admins (): ReadonlySet<string> {
    return this.#admins
  }

  /** The epoch change that ended this epoch, once one did. */
  get winner (): EpochChange | undefined {
    return this.#winner
  }

  /** Epoch changes that came second: what they removed is still to be removed. */
  get losers (): readonly EpochChange[] {
    return this.#losers
  }

  /** Takes a genesis (checked by the caller against the epoch's key); several, from one key, add up. */
  addGenesis (body: InitialAdmins): void {
    const admins = new Set(body.a.map(keyToId))
    if (this.#genesis === undefined) {
      this.#genesis = { admins, members: [...body.m], parent: body.p }
      return
    }
    for (const admin of admins) this.#genesis.admins.add(admin)
    const known = new Set(this.#genesis.members.map(keyToId))
    for (const member of body.m) if (!known.has(keyToId(member))) this.#genesis.members.push(member)
  }

  add (event: AuthorityEvent): void {
    this.#events.set(event.hash, event)
  }

  /** Applies everything again, in order; true when the admins or the epoch's end changed. */
  settle (): boolean {
    const admins = new Set(this.#genesis?.admins ?? [])
    let winner: EpochChange | undefined
    const losers: EpochChange[] = []
    const ordered = [...this.#events.values()].sort((a, b) => a.time - b.time || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0))
    for (const event of ordered) {
      const allowed = admins.has(event.author) || (event.kind === 'epoch' && isLeaving(event.change))
      if (winner !== undefined) {
        // The epoch has ended: roles changed after it belong to no epoch; a second change loses.
        if (event.kind === 'epoch' && allowed) losers.push(event.change)
        continue
      }
      if (!allowed) {
        this.#report(event)
        continue
      }
      if (event.kind === 'epoch') winner = event.change
      else if (event.kind === 'grant') admins.add(event.target)
      else admins.delete(event.target)
    }
    const hashes = (changes: EpochChange[]): string => changes.map((c) => c.hash).join()
    const changed = winner?.hash !== this.#winner?.hash || hashes(losers) !== hashes(this.#losers) || !sameSet(admins, this.#admins)
    this.#admins = admins
    this.#winner = winner
    this.#losers = losers
    return changed
  }

  #report (event: AuthorityEvent): void {
    // Before the genesis is here nobody is an admin yet: not a reason to drop anything.
    if (this.#genesis === undefined || this.#reported.has(event.hash)) return
    this.#reported.add(event.hash)
    const what = event.kind === 'epoch' ? 'a removal' : `a role ${event.kind === 'grant' ? 'granted' : 'revoked'}`
    this.#logger.warn({ entry: event.hash, reason: 'not-an-admin', detail: `${what} by ${event.author}, who is not an admin there` }, 'dropped a metadata entry')
  }
}

/** A member leaving: an epoch change whose author removes only itself. */
export function isLeaving (change: EpochChange): boolean {
  return change.removed.size === 1 && change.removed.has(change.author)
}

function sameSet (a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x))
}
