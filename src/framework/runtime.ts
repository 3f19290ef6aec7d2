/**
 * A bot while it runs: the parts that exist only between `start()` and
 * `stop()`, none of them optional. `Bot` keeps what is registered (handlers,
 * commands, schedules, hooks, HTTP routes) and makes a runtime at start.
 *
 * Every long-lived part has the shape of js-libp2p's `Startable`: the runtime
 * starts them in order, and stops them in the reverse order, so that each
 * stops while what it uses still runs: the events stop coming first, the
 * handlers under way finish, then the outbox drains, then the peer and the
 * store close.
 */
import type { FastifyInstance } from 'fastify'
import { createPeer, namespaced, type Logger, type Peer, type Clock } from '../protocol/index.ts'
import type { Middleware } from './composer.ts'
import { ButtonGuard } from './button-guard.ts'
import type { BotConfig, HttpListen } from './config.ts'
import type { BotView, Context, ScheduleContext } from './context.ts'
import { DIALOGUE_SCOPE, type Dialogues } from './dialogues.ts'
import type { BotError } from './errors.ts'
import { queuedFiles } from './files.ts'
import { HandlerRunner } from './handler-runner.ts'
import { startHttpServer, type assessHealth, type BotHealth } from './http.ts'
import type { BotMetrics } from './metrics.ts'
import { Outbox } from './outbox.ts'
import { listenToPeer } from './peer-events.ts'
import { printContactLink, stopOnSignals } from './process-glue.ts'
import { ReplicaKeeper } from './replicas.ts'
import type { Scheduler } from './schedule.ts'
import { BotStore } from './store.ts'

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

/** A long-lived part: started once, stopped once. */
export interface Startable {
  start: () => Promise<void> | void
  stop: () => Promise<void> | void
}

/** What the bot hands its runtime. */
export interface RuntimeInputs {
  config: BotConfig
  /** The peer's logger (the bot's own, unnamespaced). */
  peerLogger: Logger
  /** The framework's logger (`framework:bot`). */
  logger: Logger
  clock: Clock
  metrics: BotMetrics
  /** What contexts show of the bot. */
  bot: BotView
  /** The middleware every event goes through (read at each event). */
  chain: () => Middleware<Context>
  onError: () => (error: BotError<Context>) => unknown
  scheduler: Scheduler<Middleware<ScheduleContext>>
  /** The dialogues registered: their timeouts run with the bot. */
  dialogues: Dialogues
  /** Routes the bot mounted before start, served on `config.http`. */
  http: FastifyInstance | undefined
  health: () => Promise<BotHealth>
  startHooks: ReadonlyArray<() => unknown>
  stopHooks: ReadonlyArray<() => unknown>
  /** How the process ends the bot (SIGINT, SIGTERM), unless `handleSignals` is false. */
  stopBot: () => Promise<void>
  handleSignals: boolean
  printLink: boolean
  drainTimeoutMs: number
}

export class BotRuntime {
  readonly store: BotStore
  readonly peer: Peer
  readonly outbox: Outbox
  readonly handlers: HandlerRunner
  readonly replicas: ReplicaKeeper
  readonly startedAt: Date
  /** Where the HTTP endpoint listens, once it does. */
  httpAddress: HttpListen | undefined
  readonly #inputs: RuntimeInputs
  readonly #parts: Array<{ name: string, part: Startable }>
  /** How many of `#parts` started. */
  #started = 0
  #accepting = true
  #stopping: Promise<void> | undefined

  /** Opens the store and starts the peer; the other parts start with `start()`. */
  static async open (inputs: RuntimeInputs): Promise<BotRuntime> {
    const { config } = inputs
    const store = await BotStore.open(config.dataDir, inputs.clock)
    try {
      // Files a queued message carries stay, though a crash left them staged.
      const queued = await queuedFiles(async () => await store.pending())
      const peer = await createPeer({
        dataDir: config.dataDir,
        listen: config.listen,
        announce: config.announce,
        bootstrap: config.bootstrap,
        dht: config.dht,
        mdns: config.mdns,
        delivery: 'manual',
        logger: inputs.peerLogger,
        clock: inputs.clock,
        maxFileSize: config.maxFileSize,
        keepStagedFile: (root) => queued.has(root),
        ...(config.displayName === undefined ? {} : { displayName: config.displayName })
      })
      return new BotRuntime(inputs, store, peer)
    } catch (err) {
      await store.close()
      throw err
    }
  }

  private constructor (inputs: RuntimeInputs, store: BotStore, peer: Peer) {
    this.#inputs = inputs
    this.store = store
    this.peer = peer
    this.startedAt = new Date(inputs.clock.now())
    const { config, metrics, logger, clock } = inputs
    this.outbox = new Outbox(store, peer, namespaced(logger, 'framework:outbox'), config.concurrency, { onSent: () => { metrics.sent() }, now: () => clock.now() })
    this.replicas = new ReplicaKeeper({ peer, store, replicas: config.replicas, logger: namespaced(logger, 'framework:replicas') })
    this.handlers = new HandlerRunner({
      bot: inputs.bot,
      peer,
      store,
      outbox: this.outbox,
      buttons: new ButtonGuard({ store, outbox: this.outbox, logger: namespaced(logger, 'framework:buttons') }),
      metrics,
      clock,
      logger,
      concurrency: config.concurrency,
      chain: inputs.chain,
      onError: inputs.onError,
      running: () => this.#accepting
    })
    this.#parts = [
      // Already open: they only close, last.
      { name: 'store', part: { start: () => {}, stop: async () => { await store.close() } } },
      { name: 'peer', part: { start: () => {}, stop: async () => { await peer.stop() } } },
      { name: 'outbox', part: this.#outboxPart() },
      { name: 'scheduler', part: this.#schedulerPart() },
      { name: 'dialogues', part: this.#dialoguesPart() },
      { name: 'replicas', part: this.replicas },
      ...(config.http === undefined ? [] : [{ name: 'http', part: this.#httpPart(config.http) }]),
      { name: 'hooks', part: this.#hooksPart() },
      { name: 'events', part: this.#eventsPart() },
      { name: 'process', part: this.#processPart() }
    ]
  }

  stats (): BotStats {
    const { handlers } = this
    return { handled: handlers.handled, errors: handlers.errors, pending: handlers.pending, sent: this.outbox.sentCount, startedAt: this.startedAt, lastHandledAt: handlers.lastHandledAt }
  }

  /** What `GET /healthz` shows of the bot; the peer's and the store's figures only while `running` (not once they close). */
  async healthFigures (running: boolean): Promise<Omit<Parameters<typeof assessHealth>[0], 'now' | 'status'>> {
    return {
      accountId: this.peer.accountId,
      startedAt: this.startedAt,
      connectedPeers: running ? this.peer.connectedPeers().length : 0,
      groups: running ? this.peer.groups().length : 0,
      pendingEvents: this.handlers.pending,
      outboxDepth: running ? await this.store.outboxSize() : 0,
      oldestWaitingSince: this.outbox.oldestPendingSince(),
      lastHandledAt: this.handlers.lastHandledAt
    }
  }

  /** Starts the parts in order; if one fails, those started stop again (the store and peer close) and the error is thrown. */
  async start (): Promise<void> {
    try {
      for (const { part } of this.#parts.slice(this.#started)) {
        await part.start()
        this.#started++
      }
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  /** Stops what started, in reverse order, once; a part that fails to stop is logged, and the others still stop. */
  async stop (): Promise<void> {
    this.#stopping ??= this.#stopParts()
    await this.#stopping
  }

  async #stopParts (): Promise<void> {
    this.#accepting = false
    // The store and the peer were open before any part started.
    const started = this.#parts.slice(0, Math.max(this.#started, 2)).reverse()
    for (const { name, part } of started) {
      try {
        await part.stop()
      } catch (err) {
        this.#inputs.logger.error({ err, part: name }, 'a part of the bot failed to stop')
      }
    }
  }

  #outboxPart (): Startable {
    return {
      start: async () => { await this.outbox.start() },
      stop: async () => {
        const drained = await this.outbox.drain(this.#inputs.drainTimeoutMs)
        if (!drained) this.#inputs.logger.warn('stopping with messages still queued; they will be sent at the next start')
        this.outbox.stop()
      }
    }
  }

  #schedulerPart (): Startable {
    const { scheduler } = this.#inputs
    return {
      start: async () => {
        await scheduler.start(this.store, async (schedule, handler, scheduledAt, late) => {
          await this.handlers.schedule(handler, schedule, scheduledAt, late)
        })
      },
      stop: async () => { await scheduler.stop() }
    }
  }

  /** The dialogues' timeouts, run as tasks of the handlers, from the records in the store. */
  #dialoguesPart (): Startable {
    const { dialogues } = this.#inputs
    return {
      start: async () => {
        await dialogues.start({ run: async (fn) => { await this.handlers.run(fn) }, records: async () => await this.store.stateOf(DIALOGUE_SCOPE) })
      },
      stop: async () => { await dialogues.stop() }
    }
  }

  #httpPart (listen: HttpListen): Startable {
    const { http, logger, metrics, health } = this.#inputs
    return {
      start: async () => {
        if (http === undefined) return
        this.httpAddress = await startHttpServer(http, listen, { health, metrics })
        logger.info({ address: this.httpAddress }, 'HTTP endpoint listening')
      },
      stop: async () => { await http?.close() }
    }
  }

  #hooksPart (): Startable {
    const { startHooks, stopHooks, logger } = this.#inputs
    return {
      start: async () => { for (const hook of startHooks) await hook() },
      stop: async () => {
        for (const hook of stopHooks) {
          try {
            await hook()
          } catch (err) {
            logger.error({ err }, 'an onStop hook failed')
          }
        }
      }
    }
  }

  /** The peer's events into the handlers: started last, so that everything a handler uses runs; stopped first. */
  #eventsPart (): Startable {
    let remove = (): void => {}
    return {
      start: () => { remove = listenToPeer(this.peer, (incoming) => { this.handlers.receive(incoming) }) },
      stop: async () => {
        // Not handled by now: the peer delivers it again at the next start.
        this.#accepting = false
        remove()
        await this.handlers.drain()
      }
    }
  }

  #processPart (): Startable {
    const { handleSignals, printLink, stopBot } = this.#inputs
    let release = (): void => {}
    return {
      start: async () => {
        if (handleSignals) release = stopOnSignals(stopBot)
        if (printLink) await printContactLink(this.peer.displayName, this.peer.contactLink())
      },
      stop: () => { release() }
    }
  }
}
