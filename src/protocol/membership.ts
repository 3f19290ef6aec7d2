/**
 * Who is in a group, as the metadata log says: members (accounts), their
 * devices, display names. Rebuilt from the log each time the group opens,
 * as Wesh does; the log is the only source of truth.
 *
 * bertybot's member key is the account key, in every group kind (Wesh
 * derives a per-group alias for multi-member groups). A bot must know who
 * is speaking (an admin's command, a user's state) and a display name is not
 * an identity, so members are bound to their accounts on purpose.
 */
import { keyToId } from './encoding.ts'

export interface Member {
  /** Account id of the member. */
  readonly account: string
  /** Its devices seen in the group (none yet for a member carried into a new epoch who has not come back since). */
  readonly devices: ReadonlySet<string>
  readonly displayName: string | undefined
  /** `admin`s grant and revoke the role and remove members; contact groups have none. */
  readonly role: MemberRole
}

export type MemberRole = 'admin' | 'member'

interface MemberRecord {
  account: string
  accountKey: Uint8Array
  devices: Map<string, Uint8Array>
  displayName: string | undefined
  displayNameSentAt: number
  /** Known to this peer from the epoch before: its first device here is no news. */
  known: boolean
}

export class Membership {
  readonly #members = new Map<string, MemberRecord>()
  readonly #deviceToMember = new Map<string, string>()

  /** Records a device of a member; false if that device already belongs to another member. */
  addDevice (accountKey: Uint8Array, deviceKey: Uint8Array): { added: boolean, newMember: boolean } {
    const account = keyToId(accountKey)
    const device = keyToId(deviceKey)
    const owner = this.#deviceToMember.get(device)
    if (owner !== undefined) return { added: owner === account, newMember: false }
    let member = this.#members.get(account)
    const newMember = member === undefined || (member.devices.size === 0 && !member.known)
    if (member === undefined) {
      member = { account, accountKey, devices: new Map(), displayName: undefined, displayNameSentAt: -1, known: false }
      this.#members.set(account, member)
    }
    member.devices.set(device, deviceKey)
    this.#deviceToMember.set(device, account)
    return { added: true, newMember }
  }

  /**
   * Records a member before any device of theirs shows up: one the epoch
   * started with (its genesis names them). `known`: this peer knew them in the
   * epoch before (with that name), so their first device here is not a new member.
   */
  addExpected (accountKey: Uint8Array, options: { known?: boolean, displayName?: string | undefined } = {}): void {
    const account = keyToId(accountKey)
    if (this.#members.has(account)) return
    this.#members.set(account, { account, accountKey, devices: new Map(), displayName: options.displayName, displayNameSentAt: -1, known: options.known === true })
  }

  /** Sets a member's display name unless a later one is already known. */
  setDisplayName (device: string, displayName: string, sentAt: number): boolean {
    const member = this.#memberOfDevice(device)
    if (member === undefined || sentAt < member.displayNameSentAt) return false
    member.displayName = displayName
    member.displayNameSentAt = sentAt
    return true
  }

  memberOf (device: string): Member | undefined {
    const member = this.#memberOfDevice(device)
    return member === undefined ? undefined : view(member, false)
  }

  accountKey (account: string): Uint8Array | undefined {
    return this.#members.get(account)?.accountKey
  }

  member (account: string, isAdmin: (account: string) => boolean = () => false): Member | undefined {
    const member = this.#members.get(account)
    return member === undefined ? undefined : view(member, isAdmin(account))
  }

  isDevice (device: string): boolean {
    return this.#deviceToMember.has(device)
  }

  /** Every member, with its role as `isAdmin` says. */
  list (isAdmin: (account: string) => boolean = () => false): Member[] {
    return [...this.#members.values()].map((member) => view(member, isAdmin(member.account)))
  }

  #memberOfDevice (device: string): MemberRecord | undefined {
    const account = this.#deviceToMember.get(device)
    return account === undefined ? undefined : this.#members.get(account)
  }
}

function view (member: MemberRecord, admin: boolean): Member {
  return { account: member.account, devices: new Set(member.devices.keys()), displayName: member.displayName, role: admin ? 'admin' : 'member' }
}
