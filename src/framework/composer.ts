/**
 * Middleware, as in grammY and Koa: `(ctx, next) => ...`. A middleware does
 * its work and calls `next()` to hand the context on, or does not to stop
 * there. Everything in the framework (filters by event type, commands,
 * recipes) is built from `use`.
 *
 * As in grammY, `use`, `on` and `filter` return a child composer: what is
 * added to it runs where it was mounted, behind the filter, so that a part
 * of a bot can be built (and tested) on its own and mounted whole:
 *
 * ```ts
 * const admin = new Composer()
 * admin.filter(inGroupConversation).on('message', ...)
 * bot.use(admin)
 * ```
 */
import type { ButtonContext, Context, ContextMap, EventType } from './context.ts'
import type { Conversation } from './conversations.ts'
import { MiddlewareError } from './errors.ts'

export type NextFunction = () => Promise<void>
export type Middleware<C = Context> = (ctx: C, next: NextFunction) => unknown
/** Anything with middleware of its own: a `Composer`, a plugin. */
export interface MiddlewareObj<C = Context> {
  middleware: () => Middleware<C>
}

/** Chains middleware into one: each runs when the previous calls `next()`; the last `next()` is the caller's. */
export function compose<C> (middleware: Array<Middleware<C> | MiddlewareObj<C>>): Middleware<C> {
  return async (ctx, next) => {
    let called = -1
    const run = async (i: number): Promise<void> => {
      if (i <= called) throw new MiddlewareError('next() called more than once in one middleware')
      called = i
      const mw = middleware[i]
      if (mw === undefined) return await next()
      await asFunction(mw)(ctx, async () => { await run(i + 1) })
    }
    await run(0)
  }
}

/** A middleware object's middleware, read when it runs: what is added to it later counts too. */
function asFunction<C> (mw: Middleware<C> | MiddlewareObj<C>): Middleware<C> {
  return typeof mw === 'function' ? mw : async (ctx, next) => await mw.middleware()(ctx, next)
}

export class Composer<C extends Context = Context> implements MiddlewareObj<C> {
  readonly #middleware: Array<Middleware<C> | MiddlewareObj<C>>

  constructor (...middleware: Array<Middleware<C> | MiddlewareObj<C>>) {
    this.#middleware = [...middleware]
  }

  /** Adds middleware that sees every event; resolves with a composer for more of it, in the same place. */
  use (...middleware: Array<Middleware<C> | MiddlewareObj<C>>): Composer<C> {
    const child = new Composer<C>(...middleware)
    this.#middleware.push(child)
    return child
  }

  /** Middleware for one or more event types, its context narrowed to them; resolves with a composer for more of it. */
  on<K extends EventType> (types: K | K[], ...middleware: Array<Middleware<ContextMap[K]> | MiddlewareObj<ContextMap[K]>>): Composer<ContextMap[K]> {
    const wanted = new Set<EventType>(Array.isArray(types) ? types : [types])
    return this.filter((ctx): ctx is C & ContextMap[K] => wanted.has(ctx.type), ...middleware as Array<Middleware<C & ContextMap[K]>>) as unknown as Composer<ContextMap[K]>
  }

  /** Middleware that runs only when `predicate` holds (a type guard narrows its context); resolves with a composer for more of it. */
  filter<D extends C> (predicate: (ctx: C) => ctx is D, ...middleware: Array<Middleware<D> | MiddlewareObj<D>>): Composer<D>
  filter (predicate: (ctx: C) => boolean, ...middleware: Array<Middleware<C> | MiddlewareObj<C>>): Composer<C>
  filter (predicate: (ctx: C) => boolean, ...middleware: Array<Middleware<C> | MiddlewareObj<C>>): Composer<C> {
    const child = new Composer<C>(...middleware)
    this.#middleware.push(async (ctx, next) => {
      if (predicate(ctx)) await child.middleware()(ctx, next)
      else await next()
    })
    return child
  }

  /**
   * Middleware for presses of the bot's buttons whose payload is `trigger`,
   * or matches it (a regular expression; `ctx.match` holds the match).
   * Presses of a payload the bot did not offer on that message never get here.
   *
   * ```ts
   * bot.onButton('vote:yes', async (ctx) => { await ctx.reply('Counted.') })
   * ```
   */
  onButton (trigger: string | RegExp, ...middleware: Array<Middleware<ButtonContext> | MiddlewareObj<ButtonContext>>): Composer<ButtonContext> {
    return this.filter((ctx): ctx is C & ButtonContext => {
      if (ctx.type !== 'buttonPressed') return false
      const match = typeof trigger === 'string' ? (ctx.payload === trigger ? ctx.payload : null) : trigger.exec(ctx.payload)
      if (match === null) return false
      ctx.match = match
      return true
    }, ...middleware as Array<Middleware<C & ButtonContext>>) as unknown as Composer<ButtonContext>
  }

  middleware (): Middleware<C> {
    return compose(this.#middleware)
  }
}

/** A context of a contact's 1:1 conversation (for `filter`). */
export function inContactConversation<C extends Context> (ctx: C): ctx is C & { group: Conversation } {
  return 'group' in ctx && (ctx.group as Conversation).kind === 'contact'
}

/** A context of a multi-member group (for `filter`). */
export function inGroupConversation<C extends Context> (ctx: C): ctx is C & { group: Conversation } {
  return 'group' in ctx && (ctx.group as Conversation).kind === 'multi-member'
}
