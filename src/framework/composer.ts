/**
 * Middleware, as in grammY and Koa: `(ctx, next) => ...`. A middleware does
 * its work and calls `next()` to hand the context on, or does not to stop
 * there. Everything in the framework (filters by event type, commands,
 * recipes) is built from `use`.
 */
import type { Context, ContextMap, EventType } from './context.ts'
import { MiddlewareError } from './errors.ts'

export type NextFunction = () => Promise<void>
export type Middleware<C = Context> = (ctx: C, next: NextFunction) => unknown

/** Chains middleware into one: each runs when the previous calls `next()`; the last `next()` is the caller's. */
export function compose<C> (middleware: Array<Middleware<C>>): Middleware<C> {
  return async (ctx, next) => {
    let called = -1
    const run = async (i: number): Promise<void> => {
      if (i <= called) throw new MiddlewareError('next() called more than once in one middleware')
      called = i
      const mw = middleware[i]
      if (mw === undefined) return await next()
      await mw(ctx, async () => { await run(i + 1) })
    }
    await run(0)
  }
}

export class Composer<C extends Context = Context> {
  readonly #middleware: Array<Middleware<C>> = []

  /** Adds middleware that sees every event. */
  use (...middleware: Array<Middleware<C>>): this {
    this.#middleware.push(...middleware)
    return this
  }

  /** Adds middleware for one or more event types; its context is narrowed to them. */
  on<K extends EventType> (types: K | K[], ...middleware: Array<Middleware<ContextMap[K]>>): this {
    const wanted = new Set<EventType>(Array.isArray(types) ? types : [types])
    const chain = compose(middleware)
    return this.use(async (ctx, next) => {
      if (wanted.has(ctx.type)) await chain(ctx as unknown as ContextMap[K], next)
      else await next()
    })
  }

  /** Adds middleware that runs only when `predicate` holds. */
  filter (predicate: (ctx: C) => boolean, ...middleware: Array<Middleware<C>>): this {
    const chain = compose(middleware)
    return this.use(async (ctx, next) => {
      if (predicate(ctx)) await chain(ctx, next)
      else await next()
    })
  }

  middleware (): Middleware<C> {
    return compose([...this.#middleware])
  }
}
