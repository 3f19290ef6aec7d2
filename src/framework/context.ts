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
import type { AbortOptions, Group, Member, ReceivedFile, Sender } from '../protocol/index.ts'
import { BaseContext, ConversationContext, type BotView, type ContextDeps, type EventType } from './context-base.ts'
import { contactView, Conversation, Conversations, type ContactView } from './conversations.ts'
import type { KeyValue, Recipient, SendOptions } from './effects.ts'
import type { FileReplyOptions } from './files.ts'
import {
  ButtonContext, CommandContext, MessageContext, MessageDeletedContext, MessageEditedContext, ReactionContext, type ReceivedMessage
} from './message-contexts.ts'

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
  | ReactionContext
  | MessageEditedContext
  | MessageDeletedContext
  | ButtonContext
  | AcknowledgementContext
  | ContactRequestContext
  | ContactAcceptedContext
  | GroupInvitationContext
  | MemberJoinedContext
  | ScheduleContext

export interface ContextMap {
  message: MessageContext
  reaction: ReactionContext
  messageEdited: MessageEditedContext
  messageDeleted: MessageDeletedContext
  buttonPressed: ButtonContext
  acknowledgement: AcknowledgementContext
  contactRequest: ContactRequestContext
  contactAccepted: ContactAcceptedContext
  groupInvitation: GroupInvitationContext
  memberJoined: MemberJoinedContext
  schedule: ScheduleContext
}

export { BaseContext, ButtonContext, CommandContext, ConversationContext, MessageContext, MessageDeletedContext, MessageEditedContext, ReactionContext }
export type { BotView, ContactView, ContextDeps, Conversation, Conversations, EventType, FileReplyOptions, KeyValue, Member, ReceivedFile, ReceivedMessage, Recipient, SendOptions }
