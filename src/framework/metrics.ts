/**
 * A bot's metrics, in Prometheus form (prom-client), on a registry of its own
 * so that two bots in one process do not mix their figures. Served at
 * `GET /metrics` by the bot's HTTP endpoint.
 *
 * Counters are bumped where things happen; gauges that mirror the bot's state
 * (outbox depth, connected peers, groups) are read when scraped.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

/** What the gauges read at each scrape. */
export interface MetricsSources {
  outboxDepth: () => Promise<number>
  connectedPeers: () => number
  groups: () => number
}

export class BotMetrics {
  readonly registry = new Registry()
  readonly #events: Counter<'type'>
  readonly #handlerErrors: Counter<'type'>
  readonly #handlerDuration: Histogram<'type'>
  readonly #messagesReceived: Counter
  readonly #messagesSent: Counter
  readonly #replicationLag: Gauge<'group'>

  constructor (sources: MetricsSources) {
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry, prefix: 'bertybot_' })
    this.#events = new Counter({ name: 'bertybot_events_handled_total', help: 'Events handled, by type (message, contactRequest, schedule, ...)', labelNames: ['type'], registers })
    this.#handlerErrors = new Counter({ name: 'bertybot_handler_errors_total', help: 'Handlers that threw, by event type', labelNames: ['type'], registers })
    this.#handlerDuration = new Histogram({
      name: 'bertybot_handler_duration_seconds',
      help: 'Time the middleware and handlers took for one event, by event type',
      labelNames: ['type'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers
    })
    this.#messagesReceived = new Counter({ name: 'bertybot_messages_received_total', help: 'Messages from others handled by the bot', registers })
    this.#messagesSent = new Counter({ name: 'bertybot_messages_sent_total', help: 'Messages the bot sent (left its outbox)', registers })
    this.#replicationLag = new Gauge({
      name: 'bertybot_replication_lag_seconds',
      help: 'For the last message handled in each group: when the bot handled it minus when its sender wrote it (sender clock)',
      labelNames: ['group'],
      registers
    })
    new Gauge({ name: 'bertybot_outbox_depth', help: 'Messages queued and not yet sent', registers, async collect () { this.set(await sources.outboxDepth()) } })
    new Gauge({ name: 'bertybot_peers_connected', help: 'Peers this bot has a connection with', registers, collect () { this.set(sources.connectedPeers()) } })
    new Gauge({ name: 'bertybot_groups', help: 'Conversations (groups and contacts) the bot is in', registers, collect () { this.set(sources.groups()) } })
  }

  /** An event went through the handlers, in `seconds`; `failed` if one threw. */
  handled (type: string, seconds: number, failed: boolean): void {
    this.#events.inc({ type })
    this.#handlerDuration.observe({ type }, seconds)
    if (failed) this.#handlerErrors.inc({ type })
  }

  /** A message from someone else was handled `lagSeconds` after it was written. */
  received (group: string, lagSeconds: number): void {
    this.#messagesReceived.inc()
    this.#replicationLag.set({ group }, Math.max(0, lagSeconds))
  }

  sent (): void {
    this.#messagesSent.inc()
  }

  /** The text a Prometheus scrape gets, and its content type. */
  async scrape (): Promise<{ contentType: string, body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}
