/**
 * `POST /hooks/<source>/<route>` on the bot's HTTP server, and its response
 * contract: 202 with an id once the messages are in the durable outbox; 400
 * (which field, and why), 401 (no detail), 404, 413, 415, 429; 503 while the
 * bot is not running, so that the sender tries again. Checks run cheapest
 * first: the route and a bearer secret before the body is read.
 */
import rateLimit from '@fastify/rate-limit'
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import { Counter, type Registry } from 'prom-client'
import { NotRunningError, type Logger } from '../protocol/index.ts'
import type { Accepted } from './delivery.ts'
import { secretMatches } from './routes.ts'
import type { Notification, WebhookRequest, WebhookSource } from './source.ts'

/** A route as the server needs it. */
export interface ServedRoute {
  readonly name: string
  readonly source: string
  readonly secret: string
  readonly template?: string | undefined
  readonly ratePerMinute?: number | undefined
}

export interface WebhookServerOptions<R extends ServedRoute = ServedRoute> {
  sources: ReadonlyMap<string, WebhookSource>
  route: (name: string) => R | undefined
  /** Given the route as it was when the request came: one removed since still takes the request it began. */
  accept: (route: R, notifications: readonly Notification[], deliveryId: string | undefined) => Promise<Accepted>
  /** Bytes a body may have. */
  bodyLimit: number
  /** Requests a minute a route takes, unless it says otherwise. */
  ratePerMinute: number
  log: Logger
  registry: Registry
}

interface Matched<R> { route: R, source: WebhookSource }

type Params = { source: string, route: string }

const problem = (error: string, message?: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ error, ...(message === undefined ? {} : { message }), ...extra })

/** Mounts the webhook routes on `app` (before it listens). */
export function mountWebhooks<R extends ServedRoute> (app: FastifyInstance, options: WebhookServerOptions<R>): void {
  const requests = new Counter({
    name: 'bertybot_webhook_requests_total',
    help: 'Webhook requests answered, by route (known routes only), source and status code.',
    labelNames: ['route', 'source', 'status'] as const,
    registers: [options.registry]
  })
  const matched = new WeakMap<FastifyRequest, Matched<R>>()

  void app.register(async (scope) => {
    // The raw bytes, whatever the type: signatures are over them, and each source says which types it takes.
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })
    await scope.register(rateLimit, { global: false })

    scope.addHook('onResponse', async (request, reply) => {
      const m = matched.get(request)
      requests.inc({ route: m?.route.name ?? '', source: m?.source.kind ?? '', status: String(reply.statusCode) })
    })

    scope.setErrorHandler(async (error: FastifyError, request, reply) => {
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return await reply.code(413).send(problem('payload too large', `the body is over ${options.bodyLimit} bytes`))
      if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return await reply.code(415).send(problem('unsupported media type', 'send a Content-Type header'))
      if (error.statusCode === 429) return await reply.code(429).send(problem('too many requests', error.message))
      if (error instanceof NotRunningError) return await reply.code(503).header('retry-after', '10').send(problem('unavailable', 'the bot is stopping; try again'))
      if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) return await reply.code(error.statusCode).send(problem(error.message))
      options.log.error({ err: error, route: matched.get(request)?.route.name }, 'a webhook request failed')
      return await reply.code(500).send(problem('internal error', 'nothing was posted; try again'))
    })

    scope.post<{ Params: Params }>('/hooks/:source/:route', {
      bodyLimit: options.bodyLimit,
      onRequest: async (request, reply) => {
        const { source: kind, route: name } = request.params
        const route = options.route(name)
        const source = options.sources.get(kind)
        if (route === undefined || source === undefined || route.source !== kind) {
          return await reply.code(404).send(problem('not found', `no webhook route ${kind}/${name}`))
        }
        matched.set(request, { route, source })
        if (source.auth === 'bearer' && !bearerMatches(request, route.secret)) {
          return await reply.code(401).header('www-authenticate', 'Bearer').send(problem('unauthorized'))
        }
      },
      preValidation: async (request, reply) => {
        const { route, source } = matched.get(request) as Matched<R>
        const contentType = mediaType(request)
        if (!source.contentTypes.includes(contentType)) {
          return await reply.code(415).send(problem('unsupported media type', `send ${source.contentTypes.join(' or ')}`))
        }
        if (source.auth === 'signature' && !(await (source.verify?.(webhookRequest(request), route.secret) ?? false))) {
          return await reply.code(401).send(problem('unauthorized'))
        }
      },
      config: {
        rateLimit: {
          hook: 'preHandler',
          timeWindow: 60_000,
          keyGenerator: (request: FastifyRequest) => (request.params as Params).route,
          max: (request: FastifyRequest) => matched.get(request)?.route.ratePerMinute ?? options.ratePerMinute,
          errorResponseBuilder: (request: FastifyRequest, context: { max: number, after: string }) => ({
            statusCode: 429,
            message: `route ${(request.params as Params).route} takes ${context.max} requests a minute; retry after ${context.after}`
          })
        }
      }
    }, async (request, reply) => {
      const { route, source } = matched.get(request) as Matched<R>
      const parsed = source.parse(webhookRequest(request), { name: route.name, template: route.template })
      if (!parsed.ok) {
        options.log.warn({ route: route.name, field: parsed.problem.field, why: parsed.problem.why }, 'refused a webhook payload')
        return await reply.code(400).send(problem('bad request', parsed.problem.why, { field: parsed.problem.field }))
      }
      const accepted = await options.accept(route, parsed.notifications, parsed.deliveryId)
      return await reply.code(202).send({ id: accepted.id, ...(accepted.duplicate ? { duplicate: true } : {}) })
    })
  })
}

function bearerMatches (request: FastifyRequest, secret: string): boolean {
  const header = request.headers.authorization
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
  // Compared even when absent, so that the answer takes as long either way.
  return secretMatches(match?.[1] ?? '', secret) && match !== null
}

function mediaType (request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
}

function webhookRequest (request: FastifyRequest): WebhookRequest {
  const headers: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value
  return { body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0), contentType: mediaType(request), headers }
}

