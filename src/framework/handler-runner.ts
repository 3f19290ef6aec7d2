/**
 * Runs the bot's handlers for what it handles: events from the peer,
 * schedule runs and `bot.run()` tasks. Each runs its middleware on a fresh
 * transaction; the
 * transaction (state writes, queued messages, the mark that the event was
 * handled) is committed at once and, if state it read changed meanwhile,
 * the whole is run again on fresh state. Events of one conversation are
 * handled in order, conversations concurrently. An event of an account the
 * bot blocked (`block-list.ts`) is dropped before any middleware.
 */
import { performance } from 'node:perf_hooks'
import { abortableUntilCommit, namespaced, type AbortOptions, type Clock, type Logger, type Peer } from '../protocol/index.ts'
import type { Middleware } from './composer.ts'
import { isBlocked } from './block-list.ts'
import type { ButtonGuard } from './button-guard.ts'
import { ScheduleContext, TaskContext, type BotView, type Context } from './context.ts'
import { OrderedDispatcher } from './dispatcher.ts'
import { BotError, StateConflictError } from './errors.ts'
import type { BotMetrics } from './metrics.ts'
import type { Outbox } from './outbox.ts'
import type { Incoming } from './peer-events.ts'
import type { Schedule } from './schedule.ts'
import type { BotStore } from './store.ts'
import type { OutboxItem } from './store-records.ts'
import type { Transaction } from './transaction.ts'

/** How many times handlers run again when the state they read changed under them, before giving up. */
const MAX_COMMIT_ATTEMPTS = 50

export interface HandlerRunnerDeps {
  /** What contexts show of the bot. */
  bot: BotView
  peer: Peer
  store: BotStore
  outbox: Outbox
  /** Drops presses of buttons the bot did not offer. */
  buttons: ButtonGuard
  metrics: BotMetrics
  clock: Clock
  logger: Logger
  concurrency: number
  /** The middleware every event goes through (read at each event: handlers may be added later). */
  chain: () => Middleware<Context>
  /** Where errors thrown by middleware go (read at each error: `bot.catch()` may change it). */
  onError: () => (error: BotError<Context>) => unknown
  /** False once the bot stops: events not handled by then are delivered again at the next start. */
  running: () => boolean
}

export class HandlerRunner {
  readonly #deps: HandlerRunnerDeps
  readonly #dispatcher: OrderedDispatcher
  /** Handled events being settled with the peer (`#settle`). */
  readonly #settling = new Set<Promise<void>>()
  handled = 0
  errors = 0
  lastHandledAt: Date | undefined

  constructor (deps: HandlerRunnerDeps) {
    this.#deps = deps
    this.#dispatcher = new OrderedDispatcher(deps.concurrency, (err) => { deps.logger.error({ err }, 'event handling failed') })
  }

  /** Events received and not yet handled. */
  get pending (): number {
    return this.#dispatcher.pending
  }

  receive (incoming: Incoming): void {
    this.#dispatcher.dispatch(incoming.queue, async () => { await this.#handle(incoming) })
  }

  /** Waits for the events being handled. */
  async drain (): Promise<void> {
    await this.#dispatcher.drain()
    await Promise.all(this.#settling)
  }

  /**
   * `bot.run()`: `fn` on a transaction of its own, committed when it returns;
   * an abort before the commit rejects at once, and the commit never comes.
   */
  async run<T> (fn: (ctx: TaskContext) => Promise<T> | T, options: AbortOptions = {}): Promise<T> {
    const { bot, peer, logger } = this.#deps
    return await abortableUntilCommit(options.signal, 'the task', async (commit) => {
      let result: T | undefined
      await this.#commit('task', async (tx) => {
        result = await fn(new TaskContext({ bot, peer, tx, logger: namespaced(logger, 'framework:task') }))
      }, commit)
      return result as T
    })
  }

  /** One run of a schedule; its time is recorded with its effects. */
  async schedule (handler: Middleware<ScheduleContext>, schedule: Schedule, scheduledAt: number, late: boolean): Promise<void> {
    const { bot, peer, logger } = this.#deps
    const { name, expression, once, timezone } = schedule
    await this.#commit(`schedule/${name}`, async (tx) => {
      const ctx = new ScheduleContext({ bot, peer, tx, logger: logger.child({ schedule: name }) }, {
        name, expression, once, timezone, scheduledAt: new Date(scheduledAt), late
      })
      await this.#runMiddleware(ctx, tx, handler as Middleware<Context>)
      tx.scheduleRan(name, scheduledAt)
    })
  }

  async #handle (incoming: Incoming): Promise<void> {
    const { bot, peer, store, logger, clock, metrics } = this.#deps
    // Not marked: the peer delivers it again at the next start.
    if (!this.#deps.running()) return
    if (await store.isHandled(incoming.key)) {
      logger.trace({ event: incoming.key }, 'already handled before a restart')
      await this.#settle(incoming)
      return
    }
    // Settled, never handled: a blocked account's message is not delivered again, even once unblocked.
    // A contact request stays pending (its markHandled settles nothing): once unblocked, it reaches handlers at the next start.
    if (await isBlocked(store, incoming.account)) {
      logger.debug({ event: incoming.key, account: incoming.account }, 'dropped an event of a blocked account')
      await incoming.markHandled()
      return
    }
    // Settled, never handled: the peer does not deliver it again.
    if (incoming.press !== undefined && !await this.#deps.buttons.admits(incoming.press)) {
      await incoming.markHandled()
      return
    }
    let ctx: Context | undefined
    const chain = this.#deps.chain()
    await this.#commit(incoming.key, async (tx) => {
      ctx = incoming.context({ bot, peer, tx, logger: logger.child({ event: incoming.key }), event: incoming.key })
      await this.#runMiddleware(ctx, tx, chain)
      tx.handled(incoming.key)
    })
    await this.#settle(incoming)
    this.handled++
    this.lastHandledAt = new Date(clock.now())
    if (ctx === undefined) return
    if (ctx.type === 'message') metrics.received(ctx.group.id, (clock.now() - ctx.message.sentAt.getTime()) / 1000)
  }

  /**
   * Tells the peer a handled event is settled, then forgets it from the
   * journal. For an event in the journal, in the background: the next event
   * of the conversation need not wait for the peer's write, and should it be
   * lost, the peer delivers the event again and the journal recognises it.
   */
  async #settle (incoming: Incoming): Promise<void> {
    if (!incoming.durable) {
      await incoming.markHandled()
      return
    }
    const { store, logger } = this.#deps
    const settling = incoming.markHandled().then(() => { store.forgetHandled(incoming.key) }).catch((err: unknown) => {
      logger.warn({ err, event: incoming.key }, 'could not record an event as handled: the next start delivers it again, and the journal recognises it')
    })
    this.#settling.add(settling)
    void settling.finally(() => { this.#settling.delete(settling) })
  }

  /**
   * Runs `attempt` on a fresh transaction and commits it, then hands the
   * messages it queued to the outbox; again, on fresh state, while what it
   * read was changed by a concurrent commit. `beforeCommit` may throw to
   * write nothing.
   */
  async #commit (what: string, attempt: (tx: Transaction) => Promise<void>, beforeCommit?: () => void): Promise<void> {
    let queued: OutboxItem[] | undefined
    let tx: Transaction | undefined
    for (let n = 1; queued === undefined; n++) {
      tx = this.#deps.store.transaction()
      await attempt(tx)
      beforeCommit?.()
      try {
        queued = await tx.commit()
      } catch (err) {
        if (!(err instanceof StateConflictError) || n >= MAX_COMMIT_ATTEMPTS) throw err
        this.#deps.logger.debug({ what, key: err.key, attempt: n }, 'state changed under a handler: running it again')
      }
    }
    this.#deps.outbox.enqueue(queued)
    for (const callback of tx?.committedCallbacks() ?? []) {
      try {
        callback()
      } catch (err) {
        this.#deps.logger.error({ err, what }, 'an afterCommit callback failed')
      }
    }
  }

  /** Runs the middleware; if it throws, its effects are dropped and the error handler runs (its replies are kept). */
  async #runMiddleware (ctx: Context, tx: Transaction, chain: Middleware<Context>): Promise<void> {
    const started = performance.now()
    let failed = false
    try {
      await chain(ctx, async () => {})
    } catch (err) {
      failed = true
      this.errors++
      tx.discard()
      try {
        await this.#deps.onError()(new BotError(err, ctx))
      } catch (handlerError) {
        this.#deps.logger.error({ err: handlerError }, 'the error handler itself failed')
      }
    } finally {
      this.#deps.metrics.handled(ctx.type, (performance.now() - started) / 1000, failed)
    }
  }
}
