/**
 * The bot's HTTP endpoint (Fastify), opt-in with `BERTYBOT_HTTP`:
 * `GET /healthz` for orchestrators (200 when healthy, 503 otherwise, with the
 * figures as JSON) and `GET /metrics` for Prometheus. Bots mount their own
 * routes (webhooks) on the same server through `bot.http`, before start.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from '../protocol/index.ts'
import type { HttpListen } from './config.ts'
import type { BotMetrics } from './metrics.ts'

/** What `GET /healthz` answers (and `bot.health()` returns). */
export interface BotHealth {
  /** Running, and its outbox is moving. */
  healthy: boolean
  status: 'created' | 'starting' | 'running' | 'stopping' | 'stopped'
  /** Why it is not healthy, in words. */
  problems: string[]
  accountId: string | undefined
  uptimeSeconds: number | null
  connectedPeers: number
  groups: number
  /** Events received and not yet handled. */
  pendingEvents: number
  outbox: {
    depth: number
    /** How long the oldest message waiting to be sent has waited. */
    oldestWaitingSeconds: number | null
  }
  lastHandledSecondsAgo: number | null
}

/** A message waiting this long to be sent makes the bot unhealthy: the network or the bot is stuck. */
const OUTBOX_STUCK_MS = 5 * 60_000

/** Judges the bot's health from its figures (times in ms on the bot's clock). */
export function assessHealth (figures: {
  now: number
  status: BotHealth['status']
  accountId: string | undefined
  startedAt: Date | undefined
  connectedPeers: number
  groups: number
  pendingEvents: number
  outboxDepth: number
  oldestWaitingSince: number | undefined
  lastHandledAt: Date | undefined
}): BotHealth {
  const { now, status, oldestWaitingSince } = figures
  const problems: string[] = []
  if (status !== 'running') problems.push(`the bot is ${status}`)
  if (oldestWaitingSince !== undefined && now - oldestWaitingSince > OUTBOX_STUCK_MS) {
    problems.push(`a message has waited ${Math.round((now - oldestWaitingSince) / 1000)} s to be sent`)
  }
  const secondsSince = (since: Date | number | undefined): number | null => since === undefined ? null : Math.max(0, Math.round((now - Number(since)) / 100) / 10)
  return {
    healthy: problems.length === 0,
    status,
    problems,
    accountId: figures.accountId,
    uptimeSeconds: secondsSince(figures.startedAt),
    connectedPeers: figures.connectedPeers,
    groups: figures.groups,
    pendingEvents: figures.pendingEvents,
    outbox: { depth: figures.outboxDepth, oldestWaitingSeconds: secondsSince(oldestWaitingSince) },
    lastHandledSecondsAgo: secondsSince(figures.lastHandledAt)
  }
}

/** A Fastify instance with the bot's logger; request logging off (probes would flood the log). */
export function createHttpApp (logger: Logger): FastifyInstance {
  // Typed as Fastify's own logger interface, which pino's satisfies, so routes see the usual types.
  const loggerInstance: FastifyBaseLogger = logger
  return Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
    // Close idle keep-alive connections on stop, so that stop() leaves nothing open.
    forceCloseConnections: 'idle'
  })
}

/** Adds `/healthz` and `/metrics` and listens; resolves with the address it listens on. */
export async function startHttpServer (app: FastifyInstance, listen: HttpListen, sources: { health: () => Promise<BotHealth>, metrics: BotMetrics }): Promise<HttpListen> {
  app.get('/healthz', async (_request, reply) => {
    const health = await sources.health()
    return await reply.code(health.healthy ? 200 : 503).header('cache-control', 'no-store').send(health)
  })
  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await sources.metrics.scrape()
    return await reply.type(contentType).send(body)
  })
  await app.listen({ host: listen.host, port: listen.port })
  const address = app.server.address()
  if (address === null || typeof address === 'string') return listen
  return { host: address.address, port: address.port }
}
