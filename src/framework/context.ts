/**
 * Contexts: what a handler gets for each event, a thin object over the
 * event with shortcuts (`ctx.reply`). `ctx.type` tells which event it is, and
 * narrows the type, as `bot.on('message', ...)` does.
 *
 * What a handler does through its context (state writes, messages) takes
 * effect together, once the handlers have finished: if they throw, none of
 * it happens; if the bot crashes before, the event is handled again. The
 * context is the only way a handler writes: it sees the bot and its
 * conversations read only (`conversations.ts`), never the peer.
 */
import type { AbortOptions, Clock, Group, Logger, Member, Peer, ReceivedFile, Sender } from '../protocol/index.ts'
import { contactView, Conversation, Conversations, type ContactView } from './conversations.ts'
import { queueMessage, scopedState, type KeyValue, type Recipient, type SendOptions } from './effects.ts'
import { queueFile, type FileReplyOptions } from './files.ts'
import type { Transaction } from './transaction.ts'

export type EventType = 'message' | 'acknowledgement' | 'contactRequest' | 'contactAccepted' | 'groupInvitation' | 'memberJoined' | 'schedule'

/** What handlers may ask of the bot itself: nothing that writes. */
export interface BotView {
  readonly clock: Clock
  messageIdOf: (tag: string) => Promise<string | undefined>
  tagOf: (messageId: string) => Promise<string | undefined>
}

/** What every context is built from. */
export interface ContextDeps {
  bot: BotView
  peer: Peer
  tx: Transaction
  logger: Logger
}

/** Each context's dependencies, out of the handler's reach (a private field would be out of its subclasses' reach too). */
const depsByContext = new WeakMap<object, ContextDeps>()

function depsOf (ctx: object): ContextDeps {
  return depsByContext.get(ctx) as ContextDeps
}

const BOT_SCOPE = '_bot'


abstract class BaseContext<T extends EventType | 'task'> {
  abstract readonly type: T
  /** A logger for this event. */
  readonly log: Logger
  /** The bot's clock (a test's may be fake): use it rather than `Date.now()`. */
  readonly clock: Clock
  /** The bot's conversations and contacts, read only. */
  readonly conversations: Conversations

  constructor (given: ContextDeps) {
    depsByContext.set(this, given)
    this.log = given.logger
    this.clock = given.bot.clock
    this.conversations = new Conversations(given.peer)
  }

  /** The id of the message sent with `tag` (`SendOptions.tag`), once it is sent. */
  async messageIdOf (tag: string): Promise<string | undefined> {
    return await depsOf(this).bot.messageIdOf(tag)
  }

  /** The tag a sent message was given, if any: tells which of the bot's messages a user answers. */
  async tagOf (messageId: string): Promise<string | undefined> {
    return await depsOf(this).bot.tagOf(messageId)
  }

  /**
   * Creates a group with the bot in it. Unlike messages and state, this
   * happens at once, not when the handler finishes: a handler that may run
   * again (its state changed under it) should look for the group it made
   * before (`conversations.list()`) rather than make another.
   */
  async createGroup (options: { name: string }): Promise<Conversation> {
    return new Conversation(await depsOf(this).peer.createGroup(options))
  }

  /** The conversation this event belongs to, if any: it scopes `state`. */
  protected get scope (): string {
    return BOT_SCOPE
  }

  /** State of this conversation (of the bot as a whole for events outside one). */
  get state (): KeyValue {
    return scopedState(depsOf(this), this.scope)
  }

  /** State of the bot as a whole. */
  get botState (): KeyValue {
    return scopedState(depsOf(this), BOT_SCOPE)
  }

  /**
   * Queues a message to a conversation (or a group id, or a contact's account
   * id). It is sent once the handlers finish, even if the bot crashes right after.
   */
  async send (to: Recipient, text: string, options: SendOptions = {}): Promise<void> {
    queueMessage(depsOf(this), to, text, options)
  }

  /**
   * Runs `fn` once this handler's effects are committed (never if it fails):
   * for what must not happen unless its state does, such as arming a
   * schedule or a poller the state describes. Handlers may run again when
   * the state they read changed meanwhile; `fn` runs once, after the run
   * that committed.
   */
  afterCommit (fn: () => void): void {
    depsOf(this).tx.afterCommit(fn)
  }

  /** Queues a message to every conversation: each contact and each group. Resolves with how many. */
  async broadcast (text: string): Promise<number> {
    const { peer } = depsOf(this)
    const groups = peer.groups().filter((g) => g.kind === 'multi-member' || peer.contact(g.contact ?? '')?.state === 'accepted')
    for (const group of groups) await this.send(group.id, text)
    return groups.length
  }
}

/** A context that belongs to a group or contact conversation. */
abstract class ConversationContext<T extends EventType> extends BaseContext<T> {
  /** The group (or contact's 1:1 group) the event happened in, read only: `reply` writes to it. */
  readonly group: Conversation

  constructor (deps: ContextDeps, group: Group) {
    super(deps)
    this.group = new Conversation(group)
  }

  protected override get scope (): string {
    return this.group.id
  }

  /** Queues a message to this conversation. */
  async reply (text: string, options: SendOptions = {}): Promise<void> {
    await this.send(this.group.id, text, options)
  }

  /**
   * Stores a file (its path, or its bytes) at once, and queues a message
   * carrying it to this conversation, sent once the handlers finish, as
   * `reply` is: `ctx.replyWithFile('./report.pdf', { type: 'application/pdf', text: 'the report' })`.
   */
  async replyWithFile (pathOrBytes: string | Uint8Array, options: FileReplyOptions, abort: AbortOptions = {}): Promise<void> {
    await queueFile(depsOf(this), this.group.id, pathOrBytes, options, abort)
  }
}

export interface ReceivedMessage {
  readonly id: string
  readonly replyTo: string | undefined
  readonly sentAt: Date
  /** The files it carries, each with `name`, `type`, `size`, `preview` and `read()` (none for most messages). */
  readonly files: readonly ReceivedFile[]
}

type MessageDetails = { group: Group, sender: Sender, text: string, id: string, replyTo: string | undefined, sentAt: Date, files?: readonly ReceivedFile[] }

/** Each message context's event, for `asCommand`. */
const eventOf = new WeakMap<object, MessageDetails>()

export class MessageContext extends ConversationContext<'message'> {
  readonly type = 'message' as const
  readonly sender: Sender
  readonly text: string
  readonly message: ReceivedMessage

  constructor (deps: ContextDeps, event: MessageDetails) {
    super(deps, event.group)
    eventOf.set(this, event)
    this.sender = event.sender
    this.text = event.text
    this.message = { id: event.id, replyTo: event.replyTo, sentAt: event.sentAt, files: event.files ?? [] }
  }

  /** @internal The same message, seen as the command `command` with its parsed arguments. */
  asCommand<A> (command: string, args: A, rawArgs: string): CommandContext<A> {
    return new CommandContext(depsOf(this), eventOf.get(this) as MessageDetails, command, args, rawArgs)
  }

  /** Queues a message to this conversation; `quote: true` marks it as an answer to the message handled. */
  override async reply (text: string, options: SendOptions & { quote?: boolean } = {}): Promise<void> {
    const { quote, replyTo, ...rest } = options
    const answers = replyTo ?? (quote === true ? this.message.id : undefined)
    await super.reply(text, { ...rest, ...(answers === undefined ? {} : { replyTo: answers }) })
  }
}

/** A message that is a command: `/name arguments`. `args` is what the command's schema made of them. */
export class CommandContext<A = Record<string, unknown>> extends MessageContext {
  readonly command: string
  readonly args: A
  /** The text after the command name, as typed. */
  readonly rawArgs: string

  constructor (deps: ContextDeps, event: ConstructorParameters<typeof MessageContext>[1], command: string, args: A, rawArgs: string) {
    super(deps, event)
    this.command = command
    this.args = args
    this.rawArgs = rawArgs
  }
}

export class AcknowledgementContext extends ConversationContext<'acknowledgement'> {
  readonly type = 'acknowledgement' as const
  readonly sender: Sender
  /** The id of the message acknowledged. */
  readonly target: string

  constructor (deps: ContextDeps, event: { group: Group, sender: Sender, target: string }) {
    super(deps, event.group)
    this.sender = event.sender
    this.target = event.target
  }
}

export interface ContactRequestDetails {
  readonly account: string
  readonly displayName: string
  readonly message: string | undefined
  readonly receivedAt: Date
}

export class ContactRequestContext extends BaseContext<'contactRequest'> {
  readonly type = 'contactRequest' as const
  readonly request: ContactRequestDetails
  readonly #accept: (options?: AbortOptions) => Promise<Conversation>
  readonly #decline: () => Promise<void>

  constructor (deps: ContextDeps, event: ContactRequestDetails & { accept: (options?: AbortOptions) => Promise<Group>, decline: () => Promise<void> }) {
    super(deps)
    this.request = { account: event.account, displayName: event.displayName, message: event.message, receivedAt: event.receivedAt }
    this.#accept = async (options) => new Conversation(await event.accept(options))
    this.#decline = event.decline
  }

  /** Accepts (at once): the requester becomes a contact (and `contactAccepted` follows); `signal` as for `peer.acceptContact`. */
  async accept (options: AbortOptions = {}): Promise<Conversation> {
    return await this.#accept(options)
  }

  async decline (): Promise<void> {
    await this.#decline()
  }
}

export class ContactAcceptedContext extends ConversationContext<'contactAccepted'> {
  readonly type = 'contactAccepted' as const
  readonly contact: ContactView

  constructor (deps: ContextDeps, event: { contact: Parameters<typeof contactView>[0], group: Group }) {
    super(deps, event.group)
    this.contact = contactView(event.contact)
  }
}

export class GroupInvitationContext extends ConversationContext<'groupInvitation'> {
  readonly type = 'groupInvitation' as const
  /** Who sent the invitation (in `group`, typically their contact group with the bot). */
  readonly sender: Sender
  readonly invitation: { readonly groupName: string, readonly link: string }
  readonly #accept: (options?: AbortOptions) => Promise<Conversation>

  constructor (deps: ContextDeps, event: { group: Group, sender: Sender, groupName: string, invitation: string, accept: (options?: AbortOptions) => Promise<Group> }) {
    super(deps, event.group)
    this.sender = event.sender
    this.invitation = { groupName: event.groupName, link: event.invitation }
    this.#accept = async (options) => new Conversation(await event.accept(options))
  }

  /** Joins the invited group (at once); `signal` as for `peer.joinGroup`. */
  async accept (options: AbortOptions = {}): Promise<Conversation> {
    return await this.#accept(options)
  }
}

export class MemberJoinedContext extends ConversationContext<'memberJoined'> {
  readonly type = 'memberJoined' as const
  readonly member: Sender

  constructor (deps: ContextDeps, event: { group: Group, member: Sender }) {
    super(deps, event.group)
    this.member = event.member
  }
}

export interface ScheduleRun {
  readonly name: string
  /** The cron expression, or a one-off's instant in ISO 8601. */
  readonly expression: string
  /** For a one-off: when it was to run. */
  readonly once: Date | undefined
  readonly timezone: string
  /** The time the run was due. */
  readonly scheduledAt: Date
  /** True when the run was due while the bot was down and runs now, late. */
  readonly late: boolean
}

export class ScheduleContext extends BaseContext<'schedule'> {
  readonly type = 'schedule' as const
  readonly schedule: ScheduleRun

  constructor (deps: ContextDeps, run: ScheduleRun) {
    super(deps)
    this.schedule = run
  }
}

/**
 * What `bot.run()` gives its function: the bot's state and `send`, committed
 * together when the function returns, as a handler's are.
 */
export class TaskContext extends BaseContext<'task'> {
  readonly type = 'task' as const
}

export type Context =
  | MessageContext
  | AcknowledgementContext
  | ContactRequestContext
  | ContactAcceptedContext
  | GroupInvitationContext
  | MemberJoinedContext
  | ScheduleContext

export interface ContextMap {
  message: MessageContext
  acknowledgement: AcknowledgementContext
  contactRequest: ContactRequestContext
  contactAccepted: ContactAcceptedContext
  groupInvitation: GroupInvitationContext
  memberJoined: MemberJoinedContext
  schedule: ScheduleContext
}

export type { ContactView, Conversation, Conversations, FileReplyOptions, KeyValue, Member, ReceivedFile, Recipient, SendOptions }
