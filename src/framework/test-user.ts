/**
 * A simulated person for `bertybot/testing`: a real peer, driven the way a
 * chat user would: it adds contacts, writes, reacts, edits and deletes its
 * messages, presses buttons, and waits for what others send (messages with
 * their format and buttons, reactions, edits, deletions, presses of its own
 * buttons), one at a time.
 */
import type {
  ButtonPressedEvent, ButtonRows, ContactAcceptedEvent, Group, MemberJoinedEvent, MessageDeletedEvent, MessageEditedEvent, MessageEvent, MessageFormat, Peer,
  ReactionEvent, SendFileOptions
} from '../protocol/index.ts'
import type { Bot } from './bot.ts'

const DEFAULT_TIMEOUT_MS = 30_000

/** Something a user can talk to: a bot, another user, or a contact link. */
export type Reachable = Bot | TestUser | string

function linkOf (target: Reachable): string {
  return typeof target === 'string' ? target : target instanceof TestUser ? target.peer.contactLink() : target.contactLink()
}

function accountOf (target: Bot | TestUser): string {
  return target instanceof TestUser ? target.peer.accountId : target.peer.accountId
}

/** What others say that a user waits for, by event. */
interface Said {
  message: MessageEvent
  reaction: ReactionEvent
  messageEdited: MessageEditedEvent
  messageDeleted: MessageDeletedEvent
  buttonPressed: ButtonPressedEvent
}
type SaidKind = keyof Said

/** A simulated person: a real peer, driven the way a chat user would. */
export class TestUser {
  readonly name: string
  readonly peer: Peer
  /** Where `send()` writes and `nextReply()` reads: the last conversation opened or joined. */
  conversation: Group | undefined
  readonly #inboxes: { [K in SaidKind]: Array<Said[K]> } = { message: [], reaction: [], messageEdited: [], messageDeleted: [], buttonPressed: [] }
  readonly #waiters = new Set<() => void>()

  constructor (name: string, peer: Peer) {
    this.name = name
    this.peer = peer
    for (const kind of Object.keys(this.#inboxes) as SaidKind[]) {
      peer.on(kind, (event: Said[SaidKind]) => {
        (this.#inboxes[kind] as Array<Said[SaidKind]>).push(event)
        for (const wake of this.#waiters) wake()
      })
    }
  }

  /** Asks `target` to be a contact and waits until it accepted (and, a bot or user of this kit, can write back); opens the contact conversation. */
  async addContact (target: Reachable, options: { message?: string, timeoutMs?: number } = {}): Promise<Group> {
    const accepted = this.#waitFor<ContactAcceptedEvent>('contactAccepted', (e) => typeof target === 'string' || e.contact.account === accountOf(target), options.timeoutMs)
    // A bot or user of this kit can write here once it has the conversation open too: its own contactAccepted
    // comes then, and may come a moment after this side's (which fires as soon as its device shows up here).
    const theirs = typeof target === 'string' || target.peer.contact(this.peer.accountId)?.group !== undefined
      ? undefined
      : this.#waitFor<ContactAcceptedEvent>('contactAccepted', (e) => e.contact.account === this.peer.accountId, options.timeoutMs, target.peer)
    // Awaited below, after this side's: a timeout meanwhile is not an unhandled rejection.
    theirs?.catch(() => {})
    await this.peer.addContact(linkOf(target), options.message === undefined ? {} : { message: options.message })
    const { group } = await accepted
    await theirs
    this.conversation = group
    return group
  }

  /** Opens a conversation: `send()` and `nextReply()` use it from now on. */
  open (group: Group): void {
    this.conversation = group
  }

  /** Creates a group and opens it. */
  async createGroup (name: string): Promise<Group> {
    this.conversation = await this.peer.createGroup({ name })
    return this.conversation
  }

  /**
   * Brings someone into `group` and waits until they are in: another user
   * joins by the invitation; a bot (or user) that is a contact gets the
   * invitation in their 1:1 conversation and has to accept it.
   */
  async invite (group: Group, member: Bot | TestUser, options: { timeoutMs?: number } = {}): Promise<void> {
    const account = accountOf(member)
    const joined = this.#waitFor<MemberJoinedEvent>('memberJoined', (e) => e.group.id === group.id && e.member.account === account, options.timeoutMs)
    if (member instanceof TestUser && this.peer.contact(account)?.state !== 'accepted') {
      await member.peer.joinGroup(group.invitation())
    } else {
      const contactGroup = this.peer.contact(account)?.group
      if (contactGroup === undefined) throw new Error(`${this.name} has no contact ${account} to invite`)
      await contactGroup.sendInvitation(group.invitation())
    }
    await joined
  }

  /** Sends a line to the open conversation (`format`, `buttons` and `replyTo` as a bot's reply takes them); resolves with its message id. */
  async send (text: string, options: { replyTo?: string, format?: MessageFormat, buttons?: ButtonRows } = {}): Promise<string> {
    return await this.#open().send({ text, ...options })
  }

  /** Sends a file (its bytes) to the open conversation, with a text if given; resolves with its message id. */
  async sendFile (bytes: Uint8Array, options: SendFileOptions): Promise<string> {
    return await this.#open().sendFile(bytes, options)
  }

  /** Puts an emoji on a message of the open conversation (`{ remove: true }` takes it off); resolves with the reaction's id. */
  async react (message: MessageEvent | string, emoji: string, options: { remove?: boolean } = {}): Promise<string> {
    return await this.#open().send({ kind: 'reaction', target: idOf(message), emoji, remove: options.remove })
  }

  /** Edits one of this user's messages (its id, as `send()` gave it). */
  async edit (messageId: string, text: string, options: { format?: MessageFormat, buttons?: ButtonRows } = {}): Promise<string> {
    return await this.#open().send({ kind: 'edit', target: messageId, text, ...options })
  }

  /** Deletes one of this user's messages (its id, as `send()` gave it), or anyone's in a group where this user is an admin. */
  async delete (messageId: string): Promise<string> {
    return await this.#open().send({ kind: 'deletion', target: messageId })
  }

  /**
   * Presses a button of `message`, named by its label or its payload (it
   * must have one so named); given a message id, `button` is sent as the
   * payload as it is, whatever the message offers (as a forger would).
   */
  async press (message: MessageEvent | string, button: string): Promise<string> {
    let payload = button
    if (typeof message !== 'string') {
      const found = message.buttons.flat().find((b) => b.label === button) ?? message.buttons.flat().find((b) => b.payload === button)
      if (found === undefined) throw new Error(`${this.name}: the message has no button "${button}" (it has ${JSON.stringify(message.buttons.flat().map((b) => b.label))})`)
      payload = found.payload
    }
    return await this.#open().send({ kind: 'buttonPress', target: idOf(message), payload })
  }

  /**
   * The next message from someone else in the open conversation (waits for
   * it); consumed once read. `from`: the next one of that bot's or user's, in
   * a group where others talk too (the others' messages before it are passed
   * over, and consumed).
   */
  async nextMessage (options: { timeoutMs?: number, from?: Bot | TestUser } = {}): Promise<MessageEvent> {
    const { from } = options
    return await this.#next('message', options.timeoutMs, from === undefined ? undefined : (m) => m.sender.account === accountOf(from))
  }

  /** The text of the next message in the open conversation (of `from`'s, if given). */
  async nextReply (options: { timeoutMs?: number, from?: Bot | TestUser } = {}): Promise<string> {
    return (await this.nextMessage(options)).text
  }

  /** The next reaction (or reaction taken back) from someone else in the open conversation. */
  async nextReaction (options: { timeoutMs?: number } = {}): Promise<ReactionEvent> {
    return await this.#next('reaction', options.timeoutMs)
  }

  /** The next edit of a message in the open conversation, by its author. */
  async nextEdit (options: { timeoutMs?: number } = {}): Promise<MessageEditedEvent> {
    return await this.#next('messageEdited', options.timeoutMs)
  }

  /** The next deletion of a message in the open conversation, by its author or an admin of the group (`deletedBy`). */
  async nextDeletion (options: { timeoutMs?: number } = {}): Promise<MessageDeletedEvent> {
    return await this.#next('messageDeleted', options.timeoutMs)
  }

  /** The next press of a button under one of this user's messages, in the open conversation. */
  async nextPress (options: { timeoutMs?: number } = {}): Promise<ButtonPressedEvent> {
    return await this.#next('buttonPressed', options.timeoutMs)
  }

  #open (): Group {
    if (this.conversation === undefined) throw new Error(`${this.name} has no conversation open: addContact(), createGroup() or open() first`)
    return this.conversation
  }

  /**
   * Takes the first event of `kind` in the open conversation, waiting for one
   * if there is none yet; with `wanted`, the first it takes, those before it
   * in the conversation passed over (and consumed).
   */
  async #next<K extends SaidKind> (kind: K, timeoutMs = DEFAULT_TIMEOUT_MS, wanted?: (event: Said[K]) => boolean): Promise<Said[K]> {
    const group = this.#open()
    const inbox = this.#inboxes[kind] as Array<Said[K]>
    const take = (): Said[K] | undefined => {
      const here = inbox.filter((e) => e.group.id === group.id)
      const found = here.findIndex((e) => wanted === undefined || wanted(e))
      if (found === -1) return undefined
      const taken = new Set(here.slice(0, found + 1))
      inbox.splice(0, inbox.length, ...inbox.filter((e) => !taken.has(e)))
      return here[found]
    }
    const ready = take()
    if (ready !== undefined) return ready
    return await new Promise<Said[K]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check)
        reject(new Error(`${this.name} got no ${kind === 'message' ? 'message' : kind} in "${group.name}" within ${timeoutMs} ms`))
      }, timeoutMs)
      const check = (): void => {
        const event = take()
        if (event === undefined) return
        clearTimeout(timer)
        this.#waiters.delete(check)
        resolve(event)
      }
      this.#waiters.add(check)
    })
  }

  /** The next `name` event of `peer` (this user's, or the other side's) that `predicate` takes. */
  async #waitFor<E> (name: 'contactAccepted' | 'memberJoined', predicate: (event: E) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS, peer: Peer = this.peer): Promise<E> {
    return await new Promise<E>((resolve, reject) => {
      const listener = (event: E): void => {
        if (!predicate(event)) return
        clearTimeout(timer)
        peer.off(name, listener as never)
        resolve(event)
      }
      const timer = setTimeout(() => {
        peer.off(name, listener as never)
        reject(new Error(`${this.name}: no ${name} ${peer === this.peer ? '' : 'on the other side '}within ${timeoutMs} ms`))
      }, timeoutMs)
      peer.on(name, listener as never)
    })
  }
}

function idOf (message: MessageEvent | string): string {
  return typeof message === 'string' ? message : message.id
}
