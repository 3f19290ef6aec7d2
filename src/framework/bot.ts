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
 * Delivery: each message from another device reaches the handlers once. The
 * bot's state writes and queued messages are committed together with the
 * record that the event was handled, and only then is the peer told; so a
 * crash at any point neither loses an event nor lets its effects happen twice.
 * Events of one conversation are handled in order; conversations
 * concurrently, up to `concurrency`.
 */
import type { FastifyInstance } from 'fastify'
import QRCode from 'qrcode'
import { createLogger, createPeer, namespaced, NotRunningError, type Group, type Logger, type Peer } from '../protocol/index.ts'
import { systemClock, type Clock } from './clock.ts'
import { CommandRegistry, type ArgsOf, type ArgsSchema, type CommandOptions } from './commands.ts'
import { Composer, compose, type Middleware } from './composer.ts'
import type { z } from 'zod'
import { loadConfig, loadSettings, type BotConfig, type BotConfigOptions, type HttpListen, type SettingsSchema } from './config.ts'
import type { CommandContext, Context, ContextMap, EventType, ScheduleContext, TaskContext } from './context.ts'
import { BotError, ConfigError, LifecycleError } from './errors.ts'
import { Handling } from './handling.ts'
import { assessHealth, createHttpApp, startHttpServer, type BotHealth } from './http.ts'
import { BotMetrics } from './metrics.ts'
import { Outbox } from './outbox.ts'
import { listenToPeer } from './peer-events.ts'
import { ReplicaKeeper } from './replicas.ts'
import { BotSchedules } from './bot-schedules.ts'
import { Scheduler, type Schedule, type ScheduleOptions } from './schedule.ts'
import { BotStore } from './store.ts'

export interface BotOptions extends BotConfigOptions {
  logger?: Logger
  /** The clock schedules and timestamps follow (a `ManualClock` in tests). */
  clock?: Clock
  /** Print the contact link (and a QR code on a terminal) at start. Default: true. */
  printLink?: boolean
  /** Stop cleanly on SIGINT and SIGTERM. Default: true. */
  handleSignals?: boolean
  /** How long `stop()` waits for queued messages to go out. Default: 10 s. */
  drainTimeoutMs?: number
}

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

export interface BotStats {
  /** Events handled since start. */
  handled: number
  /** Handlers that threw. */
  errors: number
  /** Events waiting or being handled. */
  pending: number
  /** Messages the outbox sent since start. */
  sent: number
  startedAt: Date | undefined
  lastHandledAt: Date | undefined
}

type Status = BotHealth['status']

export class Bot<Settings = Record<string, never>> {
  readonly config: BotConfig
  /** The bot's own settings, as `createBot({ settings })` read them. */
  readonly settings: Settings
  readonly #options: BotOptions
  readonly #logger: Logger
  readonly #botLog: Logger
  readonly #clock: Clock
  readonly #use = new Composer<Context>()
  readonly #handlers = new Composer<Context>()
  readonly #commands = new CommandRegistry()
  readonly #schedules: BotSchedules
  readonly #listeners: Array<() => void> = []
  readonly #startHooks: Array<() => unknown> = []
  readonly #stopHooks: Array<() => unknown> = []
  #startedAt: Date | undefined
  #errorHandler: (error: BotError<Context>) => unknown
  #status: Status = 'created'
  #peer: Peer | undefined
  #store: BotStore | undefined
  #outbox: Outbox | undefined
  #scheduler: Scheduler | undefined
  #replicas: ReplicaKeeper | undefined
  #handling: Handling | undefined
  #stopping: Promise<void> | undefined
  readonly #metrics: BotMetrics
  #http: FastifyInstance | undefined
  #httpAddress: HttpListen | undefined

  constructor (config: BotConfig, options: BotOptions = {}, settings?: Settings) {
    this.config = config
    this.settings = settings ?? ({} as Settings)
    this.#options = options
    this.#logger = namespaced(options.logger ?? createLogger({ level: config.logLevel, format: config.logFormat }), 'framework:bot')
    this.#botLog = namespaced(this.#logger, 'bot')
    this.#clock = options.clock ?? systemClock
    this.#schedules = new BotSchedules(config.timezone)
    this.#metrics = new BotMetrics({
      outboxDepth: async () => this.#status === 'running' ? await this.#store?.outboxSize() ?? 0 : 0,
      connectedPeers: () => this.#status === 'running' ? this.#peer?.connectedPeers().length ?? 0 : 0,
      groups: () => this.#status === 'running' ? this.#peer?.groups().length ?? 0 : 0
    })
    this.#errorHandler = async (error) => { await defaultErrorHandler(error) }
  }

  /** Middleware that sees every event, before commands and handlers. */
  use (...middleware: Array<Middleware<Context>>): this {
    this.#use.use(...middleware)
    return this
  }

  /** Handlers for an event type (or several); the context is typed for it. */
  on<K extends EventType> (types: K | K[], ...handlers: Array<Middleware<ContextMap[K]>>): this {
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

  /**
   * Runs `handler` on a cron expression (`'0 9 * * 1-5'`), in the bot's time
   * zone unless `options.timezone`; or once, when `when` is a date. Before
   * `start()` or while running: a schedule kept in the bot's state is added
   * again after a restart, and catches up on a run it missed meanwhile if it
   * has the same `name`.
   */
  schedule (when: string | Date, handler: Middleware<ScheduleContext>, options: ScheduleOptions = {}): this {
    if (this.#status !== 'created' && this.#status !== 'running') throw new NotRunningError(`cannot add a schedule to a bot that is ${this.#status}`)
    this.#schedules.add(when, handler, options)
    return this
  }

  /** Removes a schedule by name; true if there was one. */
  unschedule (name: string): boolean {
    return this.#schedules.remove(name)
  }

  /** The schedules, with when each runs next (once started). */
  schedules (): Array<Schedule & { nextRun: Date | undefined }> {
    return this.#schedules.list()
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
    return this.#httpAddress
  }

  /** The bot's metrics (prom-client), served at `GET /metrics`: add your own to `bot.metrics.registry`. */
  get metrics (): BotMetrics {
    return this.#metrics
  }

  /** Whether the bot is running and sending, with the figures `GET /healthz` shows. */
  async health (): Promise<BotHealth> {
    const running = this.#status === 'running'
    return assessHealth({
      now: this.#clock.now(),
      status: this.#status,
      accountId: this.#peer?.accountId,
      startedAt: this.#startedAt,
      connectedPeers: running ? this.#peer?.connectedPeers().length ?? 0 : 0,
      groups: running ? this.#peer?.groups().length ?? 0 : 0,
      pendingEvents: this.#handling?.pending ?? 0,
      outboxDepth: running ? await this.#store?.outboxSize() ?? 0 : 0,
      oldestWaitingSince: this.#outbox?.oldestPendingSince(),
      lastHandledAt: this.#handling?.lastHandledAt
    })
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
    if (this.#peer === undefined) throw new NotRunningError('the bot is not started')
    return this.#peer
  }

  /** The bot's contact link, once started. */
  contactLink (): string {
    return this.peer.contactLink()
  }

  stats (): BotStats {
    const handling = this.#handling
    return {
      handled: handling?.handled ?? 0,
      errors: handling?.errors ?? 0,
      pending: handling?.pending ?? 0,
      sent: this.#outbox?.sentCount ?? 0,
      startedAt: this.#startedAt,
      lastHandledAt: handling?.lastHandledAt
    }
  }

  /** The id of the message sent with `tag` (`SendOptions.tag`), once it has left the outbox. */
  async messageIdOf (tag: string): Promise<string | undefined> {
    return await this.#running().store.messageIdOf(tag)
  }

  /** The tag of a message the bot sent (to recognise what a user's reply answers), if it had one. */
  async tagOf (messageId: string): Promise<string | undefined> {
    return await this.#running().store.tagOf(messageId)
  }

  /** Queues a message from outside any handler (sent even if the bot crashes right after). */
  async send (to: Group | string, text: string): Promise<void> {
    await this.run(async (ctx) => { await ctx.send(to, text) })
  }

  /**
   * Runs `fn` outside any event (a poller, a webhook) as handlers run: its
   * state writes and messages are committed together when it returns, or not
   * at all if it throws. If state it read was changed meanwhile by a handler,
   * it runs again, so keep side effects out of it.
   *
   * ```ts
   * await bot.run(async (ctx) => {
   *   const seen = await ctx.botState.get<string[]>('seen') ?? []
   *   await ctx.send(groupId, 'new item'); await ctx.botState.set('seen', [...seen, id])
   * })
   * ```
   */
  async run<T> (fn: (ctx: TaskContext) => Promise<T> | T): Promise<T> {
    this.#running()
    return await (this.#handling as Handling).run(fn)
  }

  async start (): Promise<void> {
    if (this.#status !== 'created') throw new LifecycleError(`bot.start() called on a bot that is ${this.#status}`)
    const config = this.config
    if (this.#http !== undefined && config.http === undefined) {
      throw new ConfigError('BERTYBOT_HTTP', 'the bot mounts HTTP routes (bot.http) but has no address to listen on: set it, e.g. to 8080')
    }
    this.#status = 'starting'
    const store = await BotStore.open(config.dataDir)
    let peer: Peer
    try {
      peer = await createPeer({
        dataDir: config.dataDir,
        listen: config.listen,
        announce: config.announce,
        bootstrap: config.bootstrap,
        dht: config.dht,
        delivery: 'manual',
        logger: this.#options.logger ?? createLogger({ level: config.logLevel, format: config.logFormat }),
        now: () => this.#clock.now(),
        ...(config.displayName === undefined ? {} : { displayName: config.displayName })
      })
    } catch (err) {
      await store.close()
      this.#status = 'stopped'
      throw err
    }
    this.#store = store
    this.#peer = peer
    try {
      await this.#startServices(peer, store)
    } catch (err) {
      await this.stop()
      throw err
    }
    if (this.#options.handleSignals !== false) this.#handleSignals()
    if (this.#options.printLink !== false) await this.#printLink()
  }

  async #startServices (peer: Peer, store: BotStore): Promise<void> {
    const config = this.config
    const metrics = this.#metrics
    const outbox = new Outbox(store, peer, namespaced(this.#logger, 'framework:outbox'), config.concurrency, { onSent: () => { metrics.sent() }, now: () => this.#clock.now() })
    this.#outbox = outbox
    const handling = new Handling({
      bot: this,
      peer,
      store,
      outbox,
      metrics,
      clock: this.#clock,
      logger: this.#logger,
      concurrency: config.concurrency,
      chain: () => compose([this.#use.middleware(), this.#commands.middleware(), this.#handlers.middleware()]),
      onError: () => this.#errorHandler,
      running: () => this.#status === 'running',
      committed: () => { this.#replicas?.check() }
    })
    this.#handling = handling
    if (!this.#commands.has('help')) {
      this.#commands.add('help', { description: 'list the commands' }, async (ctx) => { await ctx.reply(this.#commands.help()) })
    }
    this.#scheduler = new Scheduler({
      clock: this.#clock,
      store,
      logger: namespaced(this.#logger, 'framework:schedule'),
      run: async (schedule, scheduledAt, late) => {
        const handler = this.#schedules.handler(schedule.name)
        if (handler === undefined) return
        await handling.schedule(handler, schedule, scheduledAt, late)
      }
    })
    this.#schedules.attach(this.#scheduler)
    this.#listeners.push(listenToPeer(peer, (incoming) => { handling.receive(incoming) }))
    this.#status = 'running'
    this.#startedAt = new Date(this.#clock.now())
    outbox.wake()
    await this.#scheduler.start()
    this.#replicas = new ReplicaKeeper({ peer, store, replicas: config.replicas, logger: namespaced(this.#logger, 'framework:replicas') })
    this.#replicas.check()
    if (config.http !== undefined) {
      this.#http ??= createHttpApp(namespaced(this.#logger, 'framework:http'))
      this.#httpAddress = await startHttpServer(this.#http, config.http, { health: async () => await this.health(), metrics })
      this.#logger.info({ address: this.#httpAddress }, 'HTTP endpoint listening')
    }
    for (const hook of this.#startHooks) await hook()
  }

  /** Stops taking events, lets the handlers running finish, sends what is queued (up to `drainTimeoutMs`), and closes everything. */
  async stop (): Promise<void> {
    if (this.#status === 'created') {
      this.#status = 'stopped'
      return
    }
    this.#stopping ??= (async () => {
      this.#status = 'stopping'
      // No new work: no more events, nor requests (those under way are answered).
      for (const remove of this.#listeners.splice(0)) remove()
      for (const hook of this.#stopHooks) {
        try {
          await hook()
        } catch (err) {
          this.#logger.error({ err }, 'an onStop hook failed')
        }
      }
      await this.#http?.close()
      await this.#scheduler?.stop()
      await this.#handling?.drain()
      await this.#replicas?.stop()
      const drained = await this.#outbox?.drain(this.#options.drainTimeoutMs ?? 10_000)
      if (drained === false) this.#logger.warn('stopping with messages still queued; they will be sent at the next start')
      this.#outbox?.stop()
      await this.#peer?.stop()
      await this.#store?.close()
      this.#status = 'stopped'
    })()
    await this.#stopping
  }

  #running (): { store: BotStore, peer: Peer } {
    if (this.#status !== 'running' || this.#store === undefined || this.#peer === undefined) throw new NotRunningError('the bot is not running')
    return { store: this.#store, peer: this.#peer }
  }

  #handleSignals (): void {
    const onSignal = (): void => { void this.stop() }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    this.#listeners.push(() => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    })
  }

  async #printLink (): Promise<void> {
    const link = this.contactLink()
    if (process.stdout.isTTY) process.stdout.write(await QRCode.toString(link, { type: 'terminal', small: true }))
    process.stdout.write(`${this.peer.displayName ?? 'bot'} is running. Its contact link:\n${link}\n`)
  }
}

/** Logs the error, and tells the user of a failed message that something went wrong. */
async function defaultErrorHandler (error: BotError<Context>): Promise<void> {
  error.ctx.log.error({ err: error.error }, 'a handler failed')
  if (error.ctx.type === 'message') await error.ctx.reply('Sorry, something went wrong while handling that.')
}
