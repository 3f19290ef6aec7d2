/**
 * What a bot handles, as it is registered: middleware that sees every event
 * (`use`), handlers for event types (`on`, `onMessage`, ... `onButton`),
 * filters, and commands. `Bot` is one of these; the chain they make, in
 * that order, is what every event goes through.
 */
import { CommandRegistry, type ArgsOf, type ArgsSchema, type CommandOptions } from './commands.ts'
import { Composer, compose, type Middleware, type MiddlewareObj } from './composer.ts'
import type { ButtonContext, CommandContext, Context, ContextMap, EventType } from './context.ts'

export abstract class BotHandlers {
  readonly #use = new Composer<Context>()
  readonly #handlers = new Composer<Context>()
  readonly #commands = new CommandRegistry()

  /** Middleware that sees every event, before commands and handlers. */
  use (...middleware: Array<Middleware<Context> | MiddlewareObj<Context>>): this {
    this.#use.use(...middleware)
    return this
  }

  /** Handlers that run only when `predicate` holds (a type guard narrows their context), after `use` middleware, as `on`'s do. */
  filter<D extends Context> (predicate: (ctx: Context) => ctx is D, ...handlers: Array<Middleware<D> | MiddlewareObj<D>>): this
  filter (predicate: (ctx: Context) => boolean, ...handlers: Array<Middleware<Context> | MiddlewareObj<Context>>): this
  filter (predicate: (ctx: Context) => boolean, ...handlers: Array<Middleware<Context> | MiddlewareObj<Context>>): this {
    this.#handlers.filter(predicate, ...handlers)
    return this
  }

  /** Handlers for an event type (or several); the context is typed for it. */
  on<K extends EventType> (types: K | K[], ...handlers: Array<Middleware<ContextMap[K]> | MiddlewareObj<ContextMap[K]>>): this {
    this.#handlers.on(types, ...handlers)
    return this
  }

  /** Handlers for messages that are not commands. */
  onMessage (...handlers: Array<Middleware<ContextMap['message']>>): this {
    return this.on('message', ...handlers)
  }

  onContactRequest (...handlers: Array<Middleware<ContextMap['contactRequest']>>): this {
    return this.on('contactRequest', ...handlers)
  }

  onContactAccepted (...handlers: Array<Middleware<ContextMap['contactAccepted']>>): this {
    return this.on('contactAccepted', ...handlers)
  }

  onGroupInvitation (...handlers: Array<Middleware<ContextMap['groupInvitation']>>): this {
    return this.on('groupInvitation', ...handlers)
  }

  onMemberJoined (...handlers: Array<Middleware<ContextMap['memberJoined']>>): this {
    return this.on('memberJoined', ...handlers)
  }

  /**
   * Handlers for presses of the bot's buttons whose payload is `trigger`, or
   * matches it (`ctx.match`). A press of a payload the bot never offered on
   * that message (a forged one) is dropped with a logged reason.
   *
   * ```ts
   * bot.command('lunch', (ctx) => ctx.reply('Lunch at noon?', { buttons: [[{ label: 'Yes', payload: 'lunch:yes' }, { label: 'No', payload: 'lunch:no' }]] }))
   * bot.onButton(/^lunch:(yes|no)$/, (ctx) => ctx.edit(ctx.target, `Lunch at noon? ${ctx.sender.displayName} said ${ctx.match?.[1]}.`))
   * ```
   */
  onButton (trigger: string | RegExp, ...handlers: Array<Middleware<ButtonContext> | MiddlewareObj<ButtonContext>>): this {
    this.#handlers.onButton(trigger, ...handlers)
    return this
  }

  /**
   * A command, `/name`: `args` is a zod object the arguments are parsed into
   * (`ctx.args`, typed); bad ones get a reply saying which and why.
   */
  command<S extends ArgsSchema | undefined = undefined> (name: string, options: CommandOptions<S>, handler: Middleware<CommandContext<ArgsOf<S>>>): this
  command (name: string, handler: Middleware<CommandContext<Record<string, never>>>): this
  command (name: string, optionsOrHandler: CommandOptions<ArgsSchema | undefined> | Middleware<CommandContext<any>>, handler?: Middleware<CommandContext<any>>): this {
    if (typeof optionsOrHandler === 'function') this.#commands.add(name, {}, optionsOrHandler)
    else this.#commands.add(name, optionsOrHandler, handler as Middleware<CommandContext<any>>)
    return this
  }

  /** @internal The middleware every event goes through: `use` middleware, then `beforeCommands` (dialogues), commands, then handlers. */
  protected chain (beforeCommands: Array<Middleware<Context>> = []): Middleware<Context> {
    return compose([this.#use.middleware(), ...beforeCommands, this.#commands.middleware(), this.#handlers.middleware()])
  }

  /** @internal Adds the generated `/help` (unless the bot has its own) and, with `cancel`, `/cancel`. */
  protected addBuiltIns (cancel?: Parameters<CommandRegistry['addBuiltIns']>[0]): void {
    this.#commands.addBuiltIns(cancel)
  }
}
