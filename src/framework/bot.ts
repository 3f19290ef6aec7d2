/**
 * `createBot()`: a bot is a peer of the network with handlers.
 *
 * ```ts
 * import { createBot, autoAcceptContacts } from 'bertybot'
 * import { z } from 'zod'
 *
 * const bot = await createBot()                 // config from code, else env / .env
 * bot.use(autoAcceptContacts())
 * bot.command('roll', { args: z.object({ sides: z.coerce.number().int().min(2).default(6) }), description: 'roll a die' },
 *   (ctx) => ctx.reply(`${1 + Math.floor(Math.random() * ctx.args.sides)}`))
 * bot.onMessage((ctx) => ctx.reply(ctx.text))   // messages that are not commands
 * await bot.start()                              // prints the bot's contact link
 * ```
 *
 * A `Bot` holds what is registered (handlers and commands, in `BotHandlers`;
 * schedules, hooks, HTTP routes); what runs from `start()` to `stop()` is its
 * `BotRuntime`.
 * Delivery: each message from another device reaches the handlers once, its
 * effects committed with the record that it was handled (see `handler-runner.ts`).
 */
import type { FastifyInstance } from 'fastify'
import type { z } from 'zod'
import { createLogger, namespaced, NotRunningError, type AbortOptions, type Logger, type Peer, systemClock, type Clock } from '../protocol/index.ts'
import { block, blockedAccounts, parseAccount, unblock, type BlockedAccount } from './block-list.ts'
import { BotHandlers } from './bot-handlers.ts'
import type { BotOptions } from './bot-options.ts'
import type { Middleware } from './composer.ts'
import { loadConfig, loadSettings, type BotConfig, type HttpListen, type SettingsSchema } from './config.ts'
import { transactionOf } from './context-base.ts'
import type { Context, Recipient, ScheduleContext, TaskContext } from './context.ts'
import { defaultErrorHandler } from './default-error-handler.ts'
import { Dialogues, type Dialogue, type DialogueFunction, type DialogueOptions } from './dialogues.ts'
import { BotError, ConfigError, LifecycleError } from './errors.ts'
import { assessHealth, createHttpApp, type BotHealth } from './http.ts'
import { BotMetrics } from './metrics.ts'
import { BotRuntime, type BotStats } from './runtime.ts'
import { Scheduler, type Schedule, type ScheduleOptions } from './schedule.ts'

export type { BotOptions }

/**
 * Creates a bot (not started). With `settings`, a zod object keyed by
 * environment variable names, the bot's own configuration is read from the
 * environment and `.env` too, validated, and typed as `bot.settings`.
 */
export async function createBot<S extends SettingsSchema> (options: BotOptions & { settings: S }): Promise<Bot<z.output<S>>>
export async function createBot (options?: BotOptions): Promise<Bot>
export async function createBot (options: BotOptions & { settings?: SettingsSchema } = {}): Promise<Bot<unknown>> {
  const config = loadConfig(options)
  const settings = options.settings === undefined ? {} : loadSettings(options.settings, options)
  return new Bot(config, options, settings)
}

type Status = BotHealth['status']

export class Bot<Settings = Record<string, never>> extends BotHandlers {
  readonly config: BotConfig
  /** The bot's own settings, as `createBot({ settings })` read them. */
  readonly settings: Settings
  readonly #options: BotOptions
  readonly #logger: Logger
  readonly #botLog: Logger
  readonly #clock: Clock
  readonly #dialogues: Dialogues
  readonly #scheduler: Scheduler<Middleware<ScheduleContext>>
  readonly #startHooks: Array<() => unknown> = []
  readonly #stopHooks: Array<() => unknown> = []
  #errorHandler: (error: BotError<Context>) => unknown = defaultErrorHandler
  #status: Status = 'created'
  /** What runs, from `start()` on. */
  #runtime: BotRuntime | undefined
  #stopping: Promise<void> | undefined
  readonly #metrics: BotMetrics
  #http: FastifyInstance | undefined

  constructor (config: BotConfig, options: BotOptions = {}, settings?: Settings) {
    super()
    this.config = config
    this.settings = settings ?? ({} as Settings)
    this.#options = options
    this.#logger = namespaced(options.logger ?? createLogger({ level: config.logLevel, format: config.logFormat }), 'framework:bot')
    this.#botLog = namespaced(this.#logger, 'bot')
    this.#clock = options.clock ?? systemClock
    this.#scheduler = new Scheduler({ clock: this.#clock, logger: namespaced(this.#logger, 'framework:schedule'), defaultTimezone: config.timezone })
    this.#metrics = new BotMetrics({
      outboxDepth: async () => this.#status === 'running' ? await this.#runtime?.store.outboxSize() ?? 0 : 0,
      connectedPeers: () => this.#status === 'running' ? this.#runtime?.peer.connectedPeers().length ?? 0 : 0,
      groups: () => this.#status === 'running' ? this.#runtime?.peer.groups().length ?? 0 : 0
    })
    this.#dialogues = new Dialogues({ clock: this.#clock, logger: namespaced(this.#logger, 'framework:dialogues') })
  }

  /**
   * A dialogue: questions to one person in one conversation, written as one
   * async function and kept in the bot's store, so that a restart resumes it
   * where it was (`dialogues.ts`; the README says what must be deterministic).
   * `bot.command('book', (ctx) => booking.enter(ctx))` starts it.
   */
  dialogue<I = undefined> (name: string, fn: DialogueFunction<I>, options: DialogueOptions = {}): Dialogue<I> {
    return this.#dialogues.add(name, fn, options)
  }

  /**
   * Runs `handler` on a cron expression (`'0 9 * * 1-5'`), in the bot's time
   * zone unless `options.timezone`; or once, when `when` is a date. Before
   * `start()` or while running: a schedule kept in the bot's state is added
   * again after a restart, and catches up on a run it missed meanwhile if it
   * has the same `name`.
   */
  schedule (when: string | Date, handler: Middleware<ScheduleContext>, options: ScheduleOptions = {}): this {
    if (this.#status !== 'created' && this.#status !== 'running') throw new NotRunningError(`cannot add a schedule to a bot that is ${this.#status}`)
    this.#scheduler.add(when, handler, options)
    return this
  }

  /** Removes a schedule by name; true if there was one. */
  unschedule (name: string): boolean {
    return this.#scheduler.remove(name)
  }

  /** The schedules, with when each runs next (once started). */
  schedules (): Array<Schedule & { nextRun: Date | undefined }> {
    return this.#scheduler.list()
  }

  /** A logger for the bot's own code, under the bot's logger (namespace `bot`), for what happens outside handlers. */
  get log (): Logger {
    return this.#botLog
  }

  /** The clock the bot's schedules follow. */
  get clock (): Clock {
    return this.#clock
  }

  /**
   * The bot's HTTP server (Fastify), to mount routes on before `start()`
   * (webhooks); it listens on `BERTYBOT_HTTP`, next to `/healthz` and `/metrics`.
   *
   * ```ts
   * bot.http.post('/hook', async (request) => { await bot.send(groupId, 'ping'); return { ok: true } })
   * ```
   */
  get http (): FastifyInstance {
    if (this.#http === undefined) {
      if (this.#status !== 'created') throw new NotRunningError('mount HTTP routes before bot.start()')
      this.#http = createHttpApp(namespaced(this.#logger, 'framework:http'))
    }
    return this.#http
  }

  /** Where the HTTP endpoint listens, once started (with the port the system chose for port 0). */
  httpAddress (): HttpListen | undefined {
    return this.#runtime?.httpAddress
  }

  /** The bot's metrics (prom-client), served at `GET /metrics`: add your own to `bot.metrics.registry`. */
  get metrics (): BotMetrics {
    return this.#metrics
  }

  /** Whether the bot is running and sending, with the figures `GET /healthz` shows. */
  async health (): Promise<BotHealth> {
    const figures = await this.#runtime?.healthFigures(this.#status === 'running') ??
      { accountId: undefined, startedAt: undefined, connectedPeers: 0, groups: 0, pendingEvents: 0, outboxDepth: 0, oldestWaitingSince: undefined, lastHandledAt: undefined }
    return assessHealth({ now: this.#clock.now(), status: this.#status, ...figures })
  }

  /**
   * Runs `fn` once the bot is running (after `start()` opened its store and
   * peer): start pollers, arm schedules kept in state. A hook that throws
   * fails `start()`.
   */
  onStart (fn: () => unknown): this {
    this.#startHooks.push(fn)
    return this
  }

  /** Runs `fn` as the bot begins to stop, before it drains: stop pollers and timers started in `onStart`. */
  onStop (fn: () => unknown): this {
    this.#stopHooks.push(fn)
    return this
  }

  /** Where errors thrown by handlers go. The default logs them and tells the user something went wrong. */
  catch (handler: (error: BotError<Context>) => unknown): this {
    this.#errorHandler = handler
    return this
  }

  /** The peer under the bot, once started. */
  get peer (): Peer {
    if (this.#runtime === undefined) throw new NotRunningError('the bot is not started')
    return this.#runtime.peer
  }

  /** The bot's contact link, once started. */
  contactLink (): string {
    return this.peer.contactLink()
  }

  stats (): BotStats {
    return this.#runtime?.stats() ?? { handled: 0, errors: 0, pending: 0, sent: 0, startedAt: undefined, lastHandledAt: undefined }
  }

  /** The id of the message sent with `tag` (`SendOptions.tag`), once it has left the outbox. */
  async messageIdOf (tag: string): Promise<string | undefined> {
    return await this.#running().store.messageIdOf(tag)
  }

  /** The tag of a message the bot sent (to recognise what a user's reply answers), if it had one. */
  async tagOf (messageId: string): Promise<string | undefined> {
    return await this.#running().store.tagOf(messageId)
  }

  /** Queues a message from outside any handler (sent even if the bot crashes right after); `signal` as for `run()`. */
  async send (to: Recipient, text: string, options: AbortOptions = {}): Promise<void> {
    await this.run(async (ctx) => { await ctx.send(to, text) }, options)
  }

  /**
   * Runs `fn` outside any event (a poller, a webhook) as handlers run: its
   * state writes and messages are committed together when it returns, or not
   * at all if it throws, or if `signal` aborts first (it rejects at once with
   * `AbortError` then). If state it read was changed meanwhile by a handler,
   * it runs again, so keep side effects out of it (the README has an example).
   */
  async run<T> (fn: (ctx: TaskContext) => Promise<T> | T, options: AbortOptions = {}): Promise<T> {
    return await this.#running().handlers.run(fn, options)
  }

  /**
   * Ignores `account` (an account id or a contact link) everywhere: none of
   * its events reach middleware or handlers any more, in its 1:1
   * conversation and in groups, and its contact requests stay pending,
   * unanswered. Kept in the bot's store, so it survives restarts and
   * crashes; resolves once it is committed. `InvalidAccountError` for
   * something that names no account.
   *
   * ```ts
   * bot.command('block', { args: z.object({ who: accountSchema }) }, async (ctx) => { await bot.block(ctx.args.who) })
   * ```
   */
  async block (account: string, options: AbortOptions = {}): Promise<void> {
    const id = parseAccount(account)
    await this.run(async (ctx) => { await block(transactionOf(ctx), id, this.#clock.now()) }, options)
  }

  /** Lets `account`'s events reach the handlers again, from now on (what it sent while blocked is not handled). */
  async unblock (account: string, options: AbortOptions = {}): Promise<void> {
    const id = parseAccount(account)
    await this.run((ctx) => { unblock(transactionOf(ctx), id) }, options)
  }

  /** The accounts blocked, with since when. */
  async blocked (): Promise<BlockedAccount[]> {
    return await blockedAccounts(this.#running().store)
  }

  async start (): Promise<void> {
    if (this.#status !== 'created') throw new LifecycleError(`bot.start() called on a bot that is ${this.#status}`)
    const config = this.config
    if (this.#http !== undefined && config.http === undefined) {
      throw new ConfigError('BERTYBOT_HTTP', 'the bot mounts HTTP routes (bot.http) but has no address to listen on: set it, e.g. to 8080')
    }
    this.#status = 'starting'
    this.addBuiltIns(this.#dialogues.size > 0 ? this.#dialogues.nothingToCancel : undefined)
    if (config.http !== undefined) this.#http ??= createHttpApp(namespaced(this.#logger, 'framework:http'))
    try {
      this.#runtime = await BotRuntime.open({
        config,
        peerLogger: this.#options.logger ?? createLogger({ level: config.logLevel, format: config.logFormat }),
        logger: this.#logger,
        clock: this.#clock,
        metrics: this.#metrics,
        bot: this,
        chain: () => this.chain([this.#dialogues.middleware()]),
        onError: () => this.#dialogues.afterErrors(this.#errorHandler),
        dialogues: this.#dialogues,
        scheduler: this.#scheduler,
        http: this.#http,
        health: async () => await this.health(),
        startHooks: this.#startHooks,
        stopHooks: this.#stopHooks,
        stopBot: async () => { await this.stop() },
        handleSignals: this.#options.handleSignals !== false,
        printLink: this.#options.printLink !== false,
        drainTimeoutMs: this.#options.drainTimeoutMs ?? 10_000
      })
    } catch (err) {
      this.#status = 'stopped'
      throw err
    }
    // Running from here: start hooks may already send and schedule.
    this.#status = 'running'
    try {
      await this.#runtime.start()
    } catch (err) {
      this.#status = 'stopped'
      throw err
    }
  }

  /** Stops taking events, lets the handlers running finish, sends what is queued (up to `drainTimeoutMs`), and closes everything. */
  async stop (): Promise<void> {
    if (this.#status === 'created') {
      this.#status = 'stopped'
      return
    }
    this.#stopping ??= (async () => {
      this.#status = 'stopping'
      await this.#runtime?.stop()
      this.#status = 'stopped'
    })()
    await this.#stopping
  }

  #running (): BotRuntime {
    if (this.#status !== 'running' || this.#runtime === undefined) throw new NotRunningError('the bot is not running')
    return this.#runtime
  }
}
