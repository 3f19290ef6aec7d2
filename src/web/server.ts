/**
 * `bertybot web`'s server: serves the page and its one WebSocket (`/api`,
 * the messages of `api.ts`) on loopback only. Whoever can reach the port is
 * not trusted: every request needs the access token (in the link printed at
 * start, then in an HttpOnly cookie), `Host` must name this server (no DNS
 * rebinding), `Origin`, when a browser sends one, must be this server (no
 * other site's page driving the peer), and the page runs under a strict
 * Content-Security-Policy.
 */
import { timingSafeEqual } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { extname, join } from 'node:path'
import websocket from '@fastify/websocket'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import { z } from 'zod'
import { BertybotError, type Logger } from '../protocol/index.ts'
import type { ChatClient, ConversationView, MessageView, RequestView } from '../client/index.ts'
import { run } from './api-methods.ts'
import { methods, request as requestSchema, type ErrorBody, type MethodName, type ServerEvent } from './api.ts'
import { webAssetsDir } from './assets.ts'
import { fileRoutes } from './file-routes.ts'

export const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
/** The page's files, with their types: the build's bundle, and images and fonts. The built package's own modules sit beside them and are not served. */
const BUNDLE: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'app.js.map': 'application/json',
  'app.css.map': 'application/json'
}
const MEDIA: Record<string, string> = { '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.woff2': 'font/woff2' }
/** The biggest message the page may send: a 32 000-character text, escaped, with room to spare. */
const MAX_REQUEST_BYTES = 256 * 1024

export class WebServerError extends BertybotError {
  constructor (message: string, options?: ErrorOptions) {
    super('ERR_WEB_SERVER', message, options)
  }
}

export interface WebServerOptions {
  client: ChatClient
  /** 0 (the default): one the system chooses. */
  port?: number
  /** The access token; the caller keeps it (a restarted server with the same one keeps open pages working). */
  token: string
  logger: Logger
  /** The built page; by default the package's `dist/web`. */
  assetsDir?: string
}

export interface WebServer {
  /** The link to open: it carries the token. */
  readonly url: string
  readonly port: number
  stop: () => Promise<void>
}

export async function startWebServer (options: WebServerOptions): Promise<WebServer> {
  const assets = await loadAssets(options.assetsDir ?? webAssetsDir())
  const loggerInstance: FastifyBaseLogger = options.logger
  // Every connection ends at stop, a refused WebSocket upgrade's too (it is never idle), so that stop() leaves nothing open.
  const app = Fastify({ loggerInstance, logController: new LogController({ disableRequestLogging: true }), forceCloseConnections: true })
  const sockets = new Set<WebSocket>()
  let port = options.port ?? 0
  const cookieName = (): string => `bertybot-${port}`

  const origins = (): string[] => [`http://127.0.0.1:${port}`, `http://localhost:${port}`]
  const authorized = (request: FastifyRequest): boolean => {
    const query = request.query as Record<string, unknown>
    const offered = typeof query.token === 'string' ? query.token : cookie(request.headers.cookie, cookieName())
    return offered !== undefined && sameSecret(offered, options.token)
  }

  app.addHook('onRequest', async (request, reply) => {
    const host = request.headers.host ?? ''
    if (!origins().some((origin) => origin === `http://${host}`)) return await refuse(request, reply, 421, 'This server answers only to http://127.0.0.1 on its own port.')
    const origin = request.headers.origin
    if (origin !== undefined && !origins().includes(origin)) return await refuse(request, reply, 403, 'Requests from other sites are refused.')
    if (!authorized(request)) return await refuse(request, reply, 401, 'Open the link that "bertybot web" printed: it carries the access token.')
  })
  app.addHook('onSend', async (_request, reply, payload) => {
    // A file's answer has a policy of its own, stricter still (`file-routes.ts`).
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', CONTENT_SECURITY_POLICY)
    reply.header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .header('cross-origin-opener-policy', 'same-origin')
      .header('cache-control', 'no-store')
    return payload
  })

  await app.register(websocket, { options: { maxPayload: MAX_REQUEST_BYTES } })
  app.get('/', async (request, reply) => {
    const query = request.query as Record<string, unknown>
    if (typeof query.token === 'string') {
      // Trade the token in the address for a cookie, and take it out of the address bar and history.
      return await reply.header('set-cookie', `${cookieName()}=${options.token}; HttpOnly; SameSite=Strict; Path=/`).redirect('/', 303)
    }
    return await sendAsset(reply, assets, 'index.html')
  })
  app.get('/:file', async (request, reply) => {
    const { file } = request.params as { file: string }
    if (!Object.hasOwn(assets, file)) return await reply.code(404).type('text/plain').send('not found')
    return await sendAsset(reply, assets, file)
  })
  await fileRoutes(app, { client: options.client, logger: options.logger })
  await app.register(async (scope: FastifyInstance) => {
    scope.get('/api', { websocket: true }, (socket) => {
      sockets.add(socket)
      socket.on('close', () => { sockets.delete(socket) })
      socket.on('message', (data, isBinary) => {
        void answer(options, socket, isBinary ? undefined : data.toString())
      })
    })
  })

  const push = (message: ServerEvent): void => {
    const text = JSON.stringify(message)
    for (const socket of sockets) if (socket.readyState === socket.OPEN) socket.send(text)
  }
  const onMessage = (data: MessageView): void => { push({ event: 'message', data }) }
  const onConversation = (data: ConversationView): void => { push({ event: 'conversation', data }) }
  const onRequests = (data: RequestView[]): void => { push({ event: 'requests', data }) }
  options.client.on('message', onMessage)
  options.client.on('conversation', onConversation)
  options.client.on('requests', onRequests)

  try {
    await app.listen({ host: '127.0.0.1', port })
  } catch (err) {
    await app.close()
    throw new WebServerError(`cannot listen on 127.0.0.1:${port}: ${(err as Error).message}`, { cause: err })
  }
  const address = app.server.address()
  if (address !== null && typeof address !== 'string') port = address.port
  return {
    url: `http://127.0.0.1:${port}/?token=${options.token}`,
    port,
    stop: async () => {
      options.client.off('message', onMessage)
      options.client.off('conversation', onConversation)
      options.client.off('requests', onRequests)
      for (const socket of sockets) socket.terminate()
      await app.close()
    }
  }
}

/** Runs one request from the page and answers it; nothing the page sends can throw out of here. */
async function answer (options: WebServerOptions, socket: WebSocket, text: string | undefined): Promise<void> {
  let id = 0
  const reply = (body: { result: unknown } | { error: ErrorBody }): void => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ id, ...body }))
  }
  try {
    const parsed = requestSchema.safeParse(text === undefined ? undefined : JSON.parse(text))
    if (!parsed.success) return reply({ error: { code: 'ERR_BAD_REQUEST', message: 'not a request: { id, method, params } as JSON text' } })
    id = parsed.data.id
    if (!Object.hasOwn(methods, parsed.data.method)) return reply({ error: { code: 'ERR_BAD_REQUEST', message: `no method "${parsed.data.method.slice(0, 50)}"` } })
    const method = parsed.data.method as MethodName
    const params = methods[method].params.safeParse(parsed.data.params ?? {})
    if (!params.success) return reply({ error: { code: 'ERR_BAD_REQUEST', message: describe(params.error) } })
    const result = methods[method].result.parse(await run(options.client, method, params.data))
    reply({ result })
  } catch (err) {
    if (err instanceof SyntaxError) return reply({ error: { code: 'ERR_BAD_REQUEST', message: 'not JSON' } })
    if (err instanceof BertybotError) return reply({ error: { code: err.code, message: err.message } })
    options.logger.error({ err }, 'a web client request failed')
    reply({ error: { code: 'ERR_INTERNAL', message: 'something went wrong on the server; its log says what' } })
  }
}

function describe (error: z.ZodError): string {
  return error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || 'params'}: ${issue.message}`).join('; ')
}

interface Asset { type: string, body: Buffer }

/** Reads the page's files once, at start: a few hundred kB. */
async function loadAssets (dir: string): Promise<Record<string, Asset>> {
  const loaded: Record<string, Asset> = {}
  for (const [file, type] of Object.entries(BUNDLE)) {
    try {
      loaded[file] = { type, body: await readFile(join(dir, file)) }
    } catch {
      if (!file.endsWith('.map')) throw new WebServerError(`the web client is not built (no ${file} in ${dir}): run "npm run build"`)
    }
  }
  for (const file of await readdir(dir)) {
    const type = MEDIA[extname(file)]
    if (type !== undefined) loaded[file] = { type, body: await readFile(join(dir, file)) }
  }
  return loaded
}

async function sendAsset (reply: FastifyReply, assets: Record<string, Asset>, file: string): Promise<FastifyReply> {
  const asset = assets[file] as Asset
  return await reply.type(asset.type).send(asset.body)
}

/** Answers with an error and ends the connection: a refused WebSocket upgrade's socket is no longer the HTTP server's to close at stop. */
async function refuse (request: FastifyRequest, reply: FastifyReply, code: number, text: string): Promise<FastifyReply> {
  reply.raw.once('finish', () => { request.raw.socket.destroy() })
  return await reply.code(code).header('connection', 'close').type('text/plain; charset=utf-8').send(text)
}

function cookie (header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=')
    if (key === name) return value.join('=')
  }
  return undefined
}

function sameSecret (offered: string, expected: string): boolean {
  const a = Buffer.from(offered)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}
