/**
 * What every context is made of (`context.ts` has the contexts themselves):
 * the event types, what a context shows of the bot, its dependencies out of
 * the handler's reach, and the two bases: any context (state, sending) and a
 * context that belongs to a conversation (replying, editing, deleting).
 *
 * What a handler does through its context (state writes, messages) takes
 * effect together, once the handlers have finished; the context is the only
 * way a handler writes.
 */
import { mayChange, NotTheAuthorError, type AbortOptions, type Clock, type Group, type Logger, type MessageChange, type Peer } from '../protocol/index.ts'
import { Conversation, Conversations } from './conversations.ts'
import { queueMessage, queueOutgoing, scopedState, type KeyValue, type Recipient, type SendOptions } from './effects.ts'
import { queueFile, type FileReplyOptions } from './files.ts'
import type { Transaction } from './transaction.ts'

export type EventType =
  | 'message' | 'reaction' | 'messageEdited' | 'messageDeleted' | 'buttonPressed'
  | 'acknowledgement' | 'contactRequest' | 'contactAccepted' | 'groupInvitation' | 'memberJoined' | 'schedule'

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
  /** The key of the event handled (in the journal), for an event from the peer. */
  event?: string
}

/** Each context's dependencies, out of the handler's reach (a private field would be out of its subclasses' reach too). */
const depsByContext = new WeakMap<object, ContextDeps>()

/** @internal A context's dependencies, for the contexts' own modules. */
export function depsOf (ctx: object): ContextDeps {
  return depsByContext.get(ctx) as ContextDeps
}

/** @internal The transaction a context writes through, for the framework's parts that keep records of their own (dialogues). */
export function transactionOf (ctx: object): Transaction {
  return depsOf(ctx).tx
}

/** @internal The key of the event a context is for (the same at each run of its handlers), for middleware that counts events (`rateLimit`). */
export function eventKeyOf (ctx: object): string | undefined {
  return depsOf(ctx).event
}

const BOT_SCOPE = '_bot'

/** What every context has: state, sending, the bot's conversations, a logger and a clock. */
export abstract class BaseContext<T extends EventType | 'task'> {
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
export abstract class ConversationContext<T extends EventType> extends BaseContext<T> {
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

  /**
   * Queues an edit of one of the bot's messages in this conversation: the new
   * text (and format, and buttons: none if not given) replace the old for
   * every member. Only the bot's own messages can be edited: `NotTheAuthorError`
   * for a message the peer knows someone else wrote (every member would drop the edit).
   *
   * ```ts
   * bot.onButton('vote:close', async (ctx) => { await ctx.edit(ctx.target, 'The vote is closed.') })
   * ```
   */
  async edit (messageId: string, text: string, options: Pick<SendOptions, 'format' | 'buttons'> = {}): Promise<void> {
    await this.#refuseUnless('edit', messageId, 'the bot may edit only its own messages')
    queueOutgoing(depsOf(this), this.group.id, { kind: 'edit', target: messageId, text, format: options.format, buttons: options.buttons })
  }

  /**
   * Queues the deletion of one of the bot's messages in this conversation
   * (its buttons go with it: a later press of one is dropped), or, in a group
   * where the bot is an admin, of anyone's message. `NotTheAuthorError` for
   * a message the peer knows someone else wrote, when the bot is not an
   * admin there (every member would drop the deletion).
   *
   * ```ts
   * await ctx.delete(await ctx.messageIdOf('reminder') ?? '')
   * ```
   */
  async delete (messageId: string): Promise<void> {
    await this.#refuseUnless('deletion', messageId, 'the bot may delete it only as an admin of the group, which it is not')
    queueOutgoing(depsOf(this), this.group.id, { kind: 'deletion', target: messageId })
  }

  /** Throws `NotTheAuthorError` for a message the peer knows someone else wrote, when `change` is not the bot's to make. */
  async #refuseUnless (change: MessageChange, messageId: string, why: string): Promise<void> {
    const { peer } = depsOf(this)
    const group = peer.group(this.group.id)
    const author = await group?.authorOf(messageId)
    // A message whose author is not known here yet is let go: its receivers judge it.
    if (group === undefined || author === undefined) return
    const asAdmin = group.kind === 'multi-member' && group.admins().includes(peer.accountId)
    if (mayChange(change, peer.accountId, author, asAdmin) === undefined) throw new NotTheAuthorError(`message ${messageId} is ${author}'s: ${why}`)
  }
}
