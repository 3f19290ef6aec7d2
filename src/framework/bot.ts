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
import QRCode from 'qrcode'
import { createLogger, createPeer, namespaced, NotRunningError, type Group, type Logger, type Peer, type PeerEvents } from '../protocol/index.ts'
import { systemClock, type Clock } from './clock.ts'
import { CommandRegistry, type ArgsOf, type ArgsSchema, type CommandOptions } from './commands.ts'
import { Composer, compose, type Middleware } from './composer.ts'
import type { z } from 'zod'
import { loadConfig, loadSettings, type BotConfig, type BotConfigOptions, type SettingsSchema } from './config.ts'
import {
  AcknowledgementContext, ContactAcceptedContext, ContactRequestContext, GroupInvitationContext, MemberJoinedContext,
  MessageContext, queueMessage, ScheduleContext, TaskContext, type CommandContext, type Context, type ContextMap, type ContextServices, type EventType
} from './context.ts'
import { OrderedDispatcher } from './dispatcher.ts'
import { BotError, StateConflictError } from './errors.ts'
import { Outbox } from './outbox.ts'
import { Scheduler, validateSchedule, type Schedule, type ScheduleOptions } from './schedule.ts'
import { BotStore, type OutboxItem, type Transaction } from './store.ts'

/** How many times handlers run again when the state they read changed under them before giving up. */
const MAX_COMMIT_ATTEMPTS = 50

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

type Status = 'created' | 'starting' | 'running' | 'stopping' | 'stopped'

/** The peer event a context is made from, reduced to what handling needs. */
interface Incoming {
  /** Conversation key: events with the same key are handled in order. */
  queue: string
  /** Identifies the event in the journal. */
  key: string
  /** The peer will not deliver it again once marked handled, so the journal can forget it then. */
  durable: boolean
  markHandled: () => Promise<void>
  context: (services: ContextServices) => Context
}

export class Bot<Settings = Record<string, never>> {
  readonly config: BotConfig
  /** The bot's own settings, as `createBot({ settings })` read them. */
  readonly settings: Settings
  readonly #options: BotOptions
  readonly #logger: Logger
  readonly #clock: Clock
  readonly #use = new Composer<Context>()
  readonly #handlers = new Composer<Context>()
  readonly #commands = new CommandRegistry()
  readonly #schedules: Array<{ when: string | Date, handler: Middleware<ScheduleContext>, options: ScheduleOptions }> = []
  /** Schedule name (as the scheduler made it unique) → its handler. */
  readonly #scheduleHandlers = new Map<string, Middleware<ScheduleContext>>()
  readonly #listeners: Array<() => void> = []
  readonly #stats: BotStats = { handled: 0, errors: 0, pending: 0, sent: 0, startedAt: undefined, lastHandledAt: undefined }
  #errorHandler: (error: BotError) => unknown
  #status: Status = 'created'
  #peer: Peer | undefined
  #store: BotStore | undefined
  #outbox: Outbox | undefined
  #scheduler: Scheduler | undefined
  #dispatcher: OrderedDispatcher | undefined
  #stopping: Promise<void> | undefined

  constructor (config: BotConfig, options: BotOptions = {}, settings?: Settings) {
    this.config = config
    this.settings = settings ?? ({} as Settings)
    this.#options = options
    this.#logger = namespaced(options.logger ?? createLogger({ level: config.logLevel, format: config.logFormat }), 'framework:bot')
    this.#clock = options.clock ?? systemClock
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
    if (this.#status === 'running' && this.#scheduler !== undefined) {
      this.#addSchedule(this.#scheduler, when, handler, options)
    } else if (this.#status === 'created') {
      if (typeof when === 'string') validateSchedule(when, options.timezone ?? this.config.timezone)
      this.#schedules.push({ when, handler, options })
    } else {
      throw new NotRunningError(`cannot add a schedule to a bot that is ${this.#status}`)
    }
    return this
  }

  /** Removes a schedule by name; true if there was one. */
  unschedule (name: string): boolean {
    const waiting = this.#schedules.findIndex((s) => s.options.name === name)
    if (waiting !== -1) this.#schedules.splice(waiting, 1)
    this.#scheduleHandlers.delete(name)
    return (this.#scheduler?.remove(name) ?? false) || waiting !== -1
  }

  /** The schedules, with when each runs next (once started). */
  schedules (): Array<Schedule & { nextRun: Date | undefined }> {
    const scheduler = this.#scheduler
    return scheduler?.list().map((s) => ({ ...s, nextRun: scheduler.nextRun(s.name) })) ?? []
  }

  /** The clock the bot's schedules follow. */
  get clock (): Clock {
    return this.#clock
  }

  /** Where errors thrown by handlers go. The default logs them and tells the user something went wrong. */
  catch (handler: (error: BotError) => unknown): this {
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
    return { ...this.#stats, pending: this.#dispatcher?.pending ?? 0, sent: this.#outbox?.sentCount ?? 0 }
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
    const { peer } = this.#running()
    let result: T | undefined
    const queued = await this.#commitWithRetry('task', async (tx) => {
      result = await fn(new TaskContext({ bot: this, peer, tx, logger: namespaced(this.#logger, 'framework:task') }))
    })
    this.#outbox?.enqueue(queued)
    return result as T
  }

  /**
   * Runs `attempt` on a fresh transaction and commits it; again, on fresh
   * state, while what it read was changed by a concurrent commit.
   */
  async #commitWithRetry (what: string, attempt: (tx: Transaction) => Promise<void>): Promise<OutboxItem[]> {
    const { store } = this.#running()
    for (let n = 1; ; n++) {
      const tx = store.transaction()
      await attempt(tx)
      try {
        return await tx.commit()
      } catch (err) {
        if (!(err instanceof StateConflictError) || n >= MAX_COMMIT_ATTEMPTS) throw err
        this.#logger.debug({ what, key: err.key, attempt: n }, 'state changed under a handler: running it again')
      }
    }
  }

  async start (): Promise<void> {
    if (this.#status !== 'created') throw new Error(`bot.start() called on a bot that is ${this.#status}`)
    this.#status = 'starting'
    const config = this.config
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
    this.#dispatcher = new OrderedDispatcher(config.concurrency, (err) => { this.#logger.error({ err }, 'event handling failed') })
    this.#outbox = new Outbox(store, peer, namespaced(this.#logger, 'framework:outbox'), config.concurrency)
    if (!this.#commands.has('help')) {
      this.#commands.add('help', { description: 'list the commands' }, async (ctx) => { await ctx.reply(this.#commands.help()) })
    }
    this.#scheduler = new Scheduler({
      clock: this.#clock,
      store,
      logger: namespaced(this.#logger, 'framework:schedule'),
      run: async (schedule, scheduledAt, late) => { await this.#runSchedule(schedule, scheduledAt, late) }
    })
    for (const { when, handler, options } of this.#schedules.splice(0)) this.#addSchedule(this.#scheduler, when, handler, options)
    this.#listen(peer)
    this.#status = 'running'
    this.#stats.startedAt = new Date(this.#clock.now())
    this.#outbox.wake()
    await this.#scheduler.start()
    void this.#ensureReplicas()
  }

  /** Stops taking events, lets the handlers running finish, sends what is queued (up to `drainTimeoutMs`), and closes everything. */
  async stop (): Promise<void> {
    if (this.#status === 'created') {
      this.#status = 'stopped'
      return
    }
    this.#stopping ??= (async () => {
      this.#status = 'stopping'
      for (const remove of this.#listeners.splice(0)) remove()
      await this.#scheduler?.stop()
      await this.#dispatcher?.drain()
      const drained = await this.#outbox?.drain(this.#options.drainTimeoutMs ?? 10_000)
      if (drained === false) this.#logger.warn('stopping with messages still queued; they will be sent at the next start')
      this.#outbox?.stop()
      await this.#peer?.stop()
      await this.#store?.close()
      this.#status = 'stopped'
    })()
    await this.#stopping
  }

  #addSchedule (scheduler: Scheduler, when: string | Date, handler: Middleware<ScheduleContext>, options: ScheduleOptions): void {
    // The handler is known before the scheduler may run a missed occurrence.
    const name = options.name
    if (name !== undefined) this.#scheduleHandlers.set(name, handler)
    try {
      const schedule = scheduler.add(when, { ...options, timezone: options.timezone ?? this.config.timezone })
      this.#scheduleHandlers.set(schedule.name, handler)
    } catch (err) {
      if (name !== undefined && !scheduler.list().some((s) => s.name === name)) this.#scheduleHandlers.delete(name)
      throw err
    }
  }

  #running (): { store: BotStore, peer: Peer } {
    if (this.#status !== 'running' || this.#store === undefined || this.#peer === undefined) throw new NotRunningError('the bot is not running')
    return { store: this.#store, peer: this.#peer }
  }

  #listen (peer: Peer): void {
    const add = <K extends keyof PeerEvents>(name: K, listener: PeerEvents[K]): void => {
      peer.on(name, listener as never)
      this.#listeners.push(() => { peer.off(name, listener as never) })
    }
    add('message', (e) => {
      this.#receive({ queue: e.group.id, key: `message/${e.group.id}/${e.id}`, durable: true, markHandled: e.markHandled, context: (s) => new MessageContext(s, e) })
    })
    add('acknowledgement', (e) => {
      this.#receive({ queue: e.group.id, key: `ack/${e.group.id}/${e.id}`, durable: true, markHandled: e.markHandled, context: (s) => new AcknowledgementContext(s, e) })
    })
    add('groupInvitation', (e) => {
      this.#receive({ queue: e.group.id, key: `invitation/${e.group.id}/${e.id}`, durable: true, markHandled: e.markHandled, context: (s) => new GroupInvitationContext(s, e) })
    })
    add('memberJoined', (e) => {
      this.#receive({ queue: e.group.id, key: `joined/${e.group.id}/${e.member.account}`, durable: true, markHandled: e.markHandled, context: (s) => new MemberJoinedContext(s, e) })
    })
    add('contactRequest', (e) => {
      // The peer delivers a pending request again at each start: the journal keeps it handled.
      this.#receive({ queue: `contact/${e.account}`, key: `request/${e.account}/${e.receivedAt.getTime()}`, durable: false, markHandled: e.markHandled, context: (s) => new ContactRequestContext(s, e) })
    })
    add('contactAccepted', (e) => {
      this.#receive({ queue: e.group.id, key: `accepted/${e.contact.account}`, durable: true, markHandled: e.markHandled, context: (s) => new ContactAcceptedContext(s, e) })
      void this.#ensureReplicas()
    })
  }

  #receive (incoming: Incoming): void {
    this.#dispatcher?.dispatch(incoming.queue, async () => { await this.#handle(incoming) })
  }

  async #handle (incoming: Incoming): Promise<void> {
    // Not marked: the peer delivers it again at the next start.
    if (this.#status !== 'running') return
    const { store, peer } = this.#running()
    if (await store.isHandled(incoming.key)) {
      this.#logger.trace({ event: incoming.key }, 'already handled before a restart')
      await incoming.markHandled()
      if (incoming.durable) await store.forgetHandled(incoming.key)
      return
    }
    let ctx: Context | undefined
    const chain = compose([this.#use.middleware(), this.#commands.middleware(), this.#handlers.middleware()])
    const queued = await this.#commitWithRetry(incoming.key, async (tx) => {
      ctx = incoming.context({ bot: this, peer, tx, logger: this.#logger.child({ event: incoming.key }) })
      await this.#runHandlers(ctx, tx, chain)
      tx.handled(incoming.key)
    })
    this.#outbox?.enqueue(queued)
    await incoming.markHandled()
    if (incoming.durable) await store.forgetHandled(incoming.key)
    this.#stats.handled++
    this.#stats.lastHandledAt = new Date(this.#clock.now())
    if (ctx?.type === 'groupInvitation') void this.#ensureReplicas()
  }

  /** Runs the chain; if it throws, its effects are dropped and the error handler runs (its replies are kept). */
  async #runHandlers (ctx: Context, tx: Transaction, chain: Middleware<Context>): Promise<void> {
    try {
      await chain(ctx, async () => {})
    } catch (err) {
      this.#stats.errors++
      tx.discard()
      try {
        await this.#errorHandler(new BotError(err, ctx))
      } catch (handlerError) {
        this.#logger.error({ err: handlerError }, 'the error handler itself failed')
      }
    }
  }

  async #runSchedule (schedule: Schedule, scheduledAt: number, late: boolean): Promise<void> {
    const { peer } = this.#running()
    const handler = this.#scheduleHandlers.get(schedule.name)
    if (handler === undefined) return
    const { name, expression, once, timezone } = schedule
    const queued = await this.#commitWithRetry(`schedule/${name}`, async (tx) => {
      const ctx = new ScheduleContext({ bot: this, peer, tx, logger: this.#logger.child({ schedule: name }) }, {
        name, expression, once, timezone, scheduledAt: new Date(scheduledAt), late
      })
      await this.#runHandlers(ctx, tx, handler as Middleware<Context>)
      tx.scheduleRan(name, scheduledAt)
    })
    if (once !== undefined) this.#scheduleHandlers.delete(name)
    this.#outbox?.enqueue(queued)
  }

  /** Registers every conversation with the configured replicas, once each. */
  async #ensureReplicas (): Promise<void> {
    const peer = this.#peer
    const store = this.#store
    if (peer === undefined || store === undefined || this.config.replicas.length === 0) return
    for (const group of peer.groups()) {
      for (const link of this.config.replicas) {
        if (this.#status !== 'running' || await store.isReplicated(group.id, link)) continue
        try {
          await group.addReplica(link)
          await store.setReplicated(group.id, link)
        } catch (err) {
          this.#logger.warn({ err, group: group.id }, 'could not register a group with a replica; will try again')
        }
      }
    }
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
async function defaultErrorHandler (error: BotError): Promise<void> {
  error.ctx.log.error({ err: error.error }, 'a handler failed')
  if (error.ctx.type === 'message') await error.ctx.reply('Sorry, something went wrong while handling that.')
}
