/**
 * Conversations as handlers see them: what a group or a contact is, read
 * only. A handler's messages and state take effect together, once it has
 * finished, through its context; the peer's `Group`, which sends at once,
 * never reaches a handler, so a reply cannot leave outside that transaction
 * (and be sent twice when the handler runs again, or lost in a crash).
 */
import type { Contact, Group, GroupKind, Member, MemberRole, Peer } from '../protocol/index.ts'

/** A group or a contact's 1:1 group, read only. */
export class Conversation {
  readonly #group: Group

  /** @internal */
  constructor (group: Group) {
    this.#group = group
  }

  get id (): string {
    return this.#group.id
  }

  /** The group's name; for a contact conversation, the contact's. */
  get name (): string {
    return this.#group.name
  }

  get kind (): GroupKind {
    return this.#group.kind
  }

  /** Contact conversations: the other account's id. */
  get contact (): string | undefined {
    return this.#group.contact
  }

  /** Members as the group knows them, the bot included, each with its `role`. */
  members (): Member[] {
    return this.#group.members()
  }

  /**
   * Account ids of the group's admins, who grant and revoke the role and
   * remove members; none in a contact conversation.
   *
   * ```ts
   * if (ctx.group.admins.includes(ctx.sender.account)) ...
   * ```
   */
  get admins (): string[] {
    return this.#group.admins()
  }

  /** A member's role (`admin` or `member`); undefined for an account that is not a member. */
  role (account: string): MemberRole | undefined {
    return this.#group.members().find((m) => m.account === account)?.role
  }

  /** Multi-member groups: the invitation link (whoever holds it can join: it carries the group's secret). */
  invitation (): string {
    return this.#group.invitation()
  }
}

/** A contact, read only. */
export interface ContactView {
  readonly account: string
  readonly displayName: string
  /** `accepted` once they are contacts; see the peer's `Contact`. */
  readonly state: Contact['state']
  /** The 1:1 conversation, once there is one. */
  readonly conversation: Conversation | undefined
}

export function contactView (contact: Contact): ContactView {
  return {
    account: contact.account,
    displayName: contact.displayName,
    state: contact.state,
    conversation: contact.group === undefined ? undefined : new Conversation(contact.group)
  }
}

/** The bot's conversations and contacts, read only. */
export class Conversations {
  readonly #peer: Peer

  /** @internal */
  constructor (peer: Peer) {
    this.#peer = peer
  }

  /** The bot's own account id. */
  get accountId (): string {
    return this.#peer.accountId
  }

  /** Every group the bot is in, contact conversations included. */
  list (): Conversation[] {
    return this.#peer.groups().map((group) => new Conversation(group))
  }

  get (id: string): Conversation | undefined {
    const group = this.#peer.group(id)
    return group === undefined ? undefined : new Conversation(group)
  }

  contact (account: string): ContactView | undefined {
    const contact = this.#peer.contact(account)
    return contact === undefined ? undefined : contactView(contact)
  }

  contacts (): ContactView[] {
    return this.#peer.contacts().map(contactView)
  }
}
