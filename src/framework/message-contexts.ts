/**
 * The contexts of what members say: a message (and a command, which is a
 * message), a reaction, an edit, a deletion, a press of one of the bot's
 * buttons.
 */
import type { ButtonRows, ChangedBy, Group, MessageFormat, ReceivedFile, Sender } from '../protocol/index.ts'
import { ConversationContext, depsOf, type ContextDeps } from './context-base.ts'
import { queueOutgoing, type SendOptions } from './effects.ts'

export interface ReceivedMessage {
  readonly id: string
  readonly replyTo: string | undefined
  readonly sentAt: Date
  /** `'markdown'`: the text is the Markdown subset (bold, italic, code, code blocks, links). */
  readonly format: MessageFormat
  /** Rows of buttons under the message; none: empty. */
  readonly buttons: ButtonRows
  /** The files it carries, each with `name`, `type`, `size`, `preview` and `read()` (none for most messages). */
  readonly files: readonly ReceivedFile[]
}

type MessageDetails = { group: Group, sender: Sender, text: string, id: string, replyTo: string | undefined, sentAt: Date, format: MessageFormat, buttons: ButtonRows, files?: readonly ReceivedFile[] }

/** Each message context's event, for `asCommand`. */
const eventOf = new WeakMap<object, MessageDetails>()

/**
 * A message from someone else. `ctx.reply(text)` answers it, `ctx.react('👍')`
 * puts an emoji on it.
 *
 * ```ts
 * bot.onMessage(async (ctx) => { await ctx.react('👀'); await ctx.reply(`**${ctx.text}**`, { format: 'markdown' }) })
 * ```
 */
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
    this.message = { id: event.id, replyTo: event.replyTo, sentAt: event.sentAt, format: event.format, buttons: event.buttons, files: event.files ?? [] }
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

  /**
   * Queues a reaction to this message (`{ remove: true }` takes the emoji off
   * again); sent with the handler's other effects, as a reply is.
   *
   * ```ts
   * bot.command('done', async (ctx) => { await ctx.react('✅') })
   * ```
   */
  async react (emoji: string, options: { remove?: boolean } = {}): Promise<void> {
    queueOutgoing(depsOf(this), this.group.id, { kind: 'reaction', target: this.message.id, emoji, remove: options.remove === true ? true : undefined })
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

/**
 * Someone put an emoji on a message (the bot's or anyone's), or took it off.
 *
 * ```ts
 * bot.on('reaction', async (ctx) => { if (!ctx.removed && ctx.emoji === '👍') await ctx.state.set(`liked/${ctx.target}`, true) })
 * ```
 */
export class ReactionContext extends ConversationContext<'reaction'> {
  readonly type = 'reaction' as const
  readonly sender: Sender
  /** The id of the message reacted to. */
  readonly target: string
  readonly emoji: string
  /** True when the emoji is taken off the message. */
  readonly removed: boolean

  constructor (deps: ContextDeps, event: { group: Group, sender: Sender, target: string, emoji: string, removed: boolean }) {
    super(deps, event.group)
    this.sender = event.sender
    this.target = event.target
    this.emoji = event.emoji
    this.removed = event.removed
  }
}

/**
 * Someone edited one of their messages (only its author can: the peer drops
 * anyone else's edit).
 *
 * ```ts
 * bot.on('messageEdited', (ctx) => { ctx.log.info({ message: ctx.target, text: ctx.text }, 'edited') })
 * ```
 */
export class MessageEditedContext extends ConversationContext<'messageEdited'> {
  readonly type = 'messageEdited' as const
  readonly sender: Sender
  /** The id of the message edited. */
  readonly target: string
  /** The message's new text, format and buttons. */
  readonly text: string
  readonly format: MessageFormat
  readonly buttons: ButtonRows

  constructor (deps: ContextDeps, event: { group: Group, sender: Sender, target: string, text: string, format: MessageFormat, buttons: ButtonRows }) {
    super(deps, event.group)
    this.sender = event.sender
    this.target = event.target
    this.text = event.text
    this.format = event.format
    this.buttons = event.buttons
  }
}

/**
 * Someone deleted a message: one of their own, or, as an admin of the group,
 * someone else's (`deletedBy`). Anyone else's deletion is dropped by the peer.
 *
 * ```ts
 * bot.on('messageDeleted', async (ctx) => {
 *   if (ctx.deletedBy === 'admin') ctx.log.info({ message: ctx.target, admin: ctx.sender.account }, 'removed by an admin')
 *   await ctx.state.delete(`draft/${ctx.target}`)
 * })
 * ```
 */
export class MessageDeletedContext extends ConversationContext<'messageDeleted'> {
  readonly type = 'messageDeleted' as const
  /** Who deleted it. */
  readonly sender: Sender
  /** The id of the message deleted. */
  readonly target: string
  /** In what right the sender deleted it: `'author'` (its own message) or `'admin'` (someone else's, as an admin of the group). */
  readonly deletedBy: ChangedBy

  constructor (deps: ContextDeps, event: { group: Group, sender: Sender, target: string, deletedBy: ChangedBy }) {
    super(deps, event.group)
    this.sender = event.sender
    this.target = event.target
    this.deletedBy = event.deletedBy
  }
}

/**
 * Someone pressed a button under one of the bot's messages. Only presses of
 * a payload the bot offered on that message get here: any other is dropped
 * with a logged reason.
 *
 * ```ts
 * bot.onButton(/^vote:(yes|no)$/, async (ctx) => { await ctx.reply(`You voted ${ctx.match?.[1]}.`) })
 * ```
 */
export class ButtonContext extends ConversationContext<'buttonPressed'> {
  readonly type = 'buttonPressed' as const
  /** Who pressed it. */
  readonly sender: Sender
  /** The payload of the button pressed, as the bot offered it. */
  readonly payload: string
  /** The id of the bot's message the button is under. */
  readonly target: string
  /** The press itself: its id and when it was made. */
  readonly press: { readonly id: string, readonly sentAt: Date }
  /** What `bot.onButton(trigger)` matched: the payload, or a regular expression's match. */
  match: string | RegExpMatchArray | undefined

  constructor (deps: ContextDeps, event: { group: Group, id: string, sender: Sender, target: string, payload: string, sentAt: Date }) {
    super(deps, event.group)
    this.sender = event.sender
    this.payload = event.payload
    this.target = event.target
    this.press = { id: event.id, sentAt: event.sentAt }
    this.match = undefined
  }
}
