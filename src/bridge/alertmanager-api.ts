/**
 * A small client of Alertmanager's HTTP API v2: list alerts, create, list
 * and expire silences. Every call has a timeout, every answer is checked
 * (extra fields are ignored), and every failure is an `AlertmanagerError`
 * whose message a chat user can read.
 */
import { z } from 'zod'
import { BertybotError } from '../protocol/index.ts'
import { formatMatcher, type Matcher } from './matchers.ts'

/** Why a call failed. */
export type AlertmanagerFailure =
  | 'invalid-url' // the client's URL is not an http(s) URL
  | 'timeout' // no answer within the timeout
  | 'aborted' // the caller's signal aborted the call
  | 'unreachable' // no connection (refused, unknown host, reset)
  | 'refused' // Alertmanager answered with an error (4xx, 5xx)
  | 'not-found' // no silence with that id
  | 'invalid-response' // the answer is not what the API returns

/** A call to Alertmanager failed; `failure` says how, `status` is the HTTP status if it answered. */
export class AlertmanagerError extends BertybotError {
  readonly failure: AlertmanagerFailure
  readonly status: number | undefined

  constructor (failure: AlertmanagerFailure, message: string, options: { status?: number, cause?: unknown } = {}) {
    super('ERR_ALERTMANAGER', message, { cause: options.cause })
    this.failure = failure
    this.status = options.status
  }
}

export interface AlertmanagerClientOptions {
  /**
   * Where Alertmanager is: `http://127.0.0.1:9093`, with or without a path
   * prefix (`https://example.org/alertmanager/`). Credentials in it
   * (`https://user:password@…`) are sent as HTTP basic authentication.
   */
  readonly url: string
  /** How long a call may take, answer included; 5 s by default. */
  readonly timeoutMs?: number
}

export interface CallOptions {
  /** Aborts the call (it fails with `failure: 'aborted'`); the client's timeout applies too. */
  readonly signal?: AbortSignal
}

const dateSchema = z.iso.datetime({ offset: true }).transform((s) => new Date(s))
const labelSetSchema = z.record(z.string(), z.string())

const matcherSchema = z.object({
  name: z.string(),
  value: z.string(),
  isRegex: z.boolean(),
  // Absent from Alertmanager before 0.22, where every matcher was `=` or `=~`.
  isEqual: z.boolean().default(true)
})

const alertSchema = z.object({
  labels: labelSetSchema,
  annotations: labelSetSchema.default({}),
  startsAt: dateSchema,
  endsAt: dateSchema,
  updatedAt: dateSchema.optional(),
  fingerprint: z.string(),
  status: z.object({
    state: z.enum(['unprocessed', 'active', 'suppressed']),
    silencedBy: z.array(z.string()).default([]),
    inhibitedBy: z.array(z.string()).default([])
  }),
  receivers: z.array(z.object({ name: z.string() })).default([]),
  generatorURL: z.string().optional()
})

const silenceSchema = z.object({
  id: z.string(),
  matchers: z.array(matcherSchema),
  startsAt: dateSchema,
  endsAt: dateSchema,
  updatedAt: dateSchema.optional(),
  createdBy: z.string(),
  comment: z.string(),
  status: z.object({ state: z.enum(['expired', 'active', 'pending']) })
})

/** An alert as Alertmanager holds it; `status.state` is `suppressed` when silenced or inhibited. */
export type Alert = z.output<typeof alertSchema>
/** A silence; an expired one stays listed (with `status.state: 'expired'`) until Alertmanager drops it. */
export type Silence = z.output<typeof silenceSchema>

export interface AlertFilter {
  /** Include active alerts (Alertmanager's default: true). */
  readonly active?: boolean
  /** Include silenced alerts (default: true). */
  readonly silenced?: boolean
  /** Include inhibited alerts (default: true). */
  readonly inhibited?: boolean
  /** Include alerts not yet processed (default: true). */
  readonly unprocessed?: boolean
  /** Only alerts whose labels match all of these. */
  readonly matchers?: readonly Matcher[]
  /** Only alerts routed to a receiver whose name matches this regex. */
  readonly receiver?: string
}

export interface NewSilence {
  /** At least one; Alertmanager refuses a silence whose matchers all match the empty string. */
  readonly matchers: readonly Matcher[]
  /** Now by default. */
  readonly startsAt?: Date
  readonly endsAt: Date
  readonly createdBy: string
  readonly comment: string
}

/** A silence id as Alertmanager makes them (a UUID). */
const SILENCE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** `5 s`, `1.5 s`, `800 ms` */
function seconds (ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(1))} s`
}

/** The text of an error answer: Alertmanager sends a JSON string, or `{ code, message }`, or nothing. */
function errorText (body: string): string {
  let text = body.trim()
  try {
    const json: unknown = JSON.parse(text)
    if (typeof json === 'string') text = json
    else if (typeof json === 'object' && json !== null && typeof (json as { message?: unknown }).message === 'string') text = (json as { message: string }).message
  } catch {}
  text = text.replace(/\s+/g, ' ').trim()
  return text.length > 300 ? `${text.slice(0, 300)}…` : text
}

/** Why a connection failed, in words: Node's fetch hides it in `cause` (or the cause's cause). */
function connectionProblem (error: unknown): string {
  let cause: unknown = error
  for (let depth = 0; depth < 4 && cause instanceof Error; depth++) {
    const code = (cause as { code?: unknown }).code
    switch (code) {
      case 'ECONNREFUSED': return 'connection refused'
      case 'ENOTFOUND': case 'EAI_AGAIN': return 'host not found'
      case 'ECONNRESET': case 'UND_ERR_SOCKET': return 'the connection was closed'
      case 'EHOSTUNREACH': case 'ENETUNREACH': return 'no route to the host'
      case 'CERT_HAS_EXPIRED': case 'DEPTH_ZERO_SELF_SIGNED_CERT': case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE': case 'ERR_TLS_CERT_ALTNAME_INVALID':
        return 'its TLS certificate is not trusted'
    }
    if (cause.cause === undefined) return cause.message
    cause = cause.cause
  }
  return String(cause)
}

/** What a request does, for messages: "list the alerts". */
interface Call {
  readonly what: string
  readonly method: 'GET' | 'POST' | 'DELETE'
  readonly path: string
  readonly query?: URLSearchParams
  readonly body?: unknown
  /** Turns an error answer into the error to throw; the default says "Alertmanager could not <what>". */
  readonly refused?: (status: number, text: string) => AlertmanagerError | undefined
}

export class AlertmanagerClient {
  readonly #base: URL
  readonly #authorization: string | undefined
  readonly timeoutMs: number

  constructor (options: AlertmanagerClientOptions) {
    let base: URL
    try {
      base = new URL(options.url)
    } catch {
      throw new AlertmanagerError('invalid-url', 'the Alertmanager URL is not a valid URL')
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new AlertmanagerError('invalid-url', 'the Alertmanager URL must start with http:// or https://')
    }
    if (base.username !== '' || base.password !== '') {
      const user = decodeURIComponent(base.username)
      const password = decodeURIComponent(base.password)
      this.#authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
      base.username = ''
      base.password = ''
    }
    base.search = ''
    base.hash = ''
    if (!base.pathname.endsWith('/')) base.pathname += '/'
    this.#base = base
    const timeoutMs = options.timeoutMs ?? 5000
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError('timeoutMs must be a positive number')
    this.timeoutMs = timeoutMs
  }

  /** The alerts Alertmanager holds (`GET /api/v2/alerts`), filtered. */
  async alerts (filter: AlertFilter = {}, options: CallOptions = {}): Promise<Alert[]> {
    const query = new URLSearchParams()
    for (const key of ['active', 'silenced', 'inhibited', 'unprocessed'] as const) {
      const value = filter[key]
      if (value !== undefined) query.set(key, String(value))
    }
    for (const matcher of filter.matchers ?? []) query.append('filter', formatMatcher(matcher))
    if (filter.receiver !== undefined) query.set('receiver', filter.receiver)
    const body = await this.#request({ what: 'list the alerts', method: 'GET', path: 'api/v2/alerts', query }, options)
    return this.#parse(z.array(alertSchema), body, 'list of alerts')
  }

  /** Creates a silence (`POST /api/v2/silences`); returns its id. */
  async createSilence (silence: NewSilence, options: CallOptions = {}): Promise<string> {
    const body = await this.#request({
      what: 'create the silence',
      method: 'POST',
      path: 'api/v2/silences',
      body: {
        // Alertmanager 0.25 requires startsAt, and reads an absent isEqual as true: both are always sent.
        matchers: silence.matchers.map(({ name, value, isRegex, isEqual }) => ({ name, value, isRegex, isEqual })),
        startsAt: (silence.startsAt ?? new Date()).toISOString(),
        endsAt: silence.endsAt.toISOString(),
        createdBy: silence.createdBy,
        comment: silence.comment
      },
      refused: (status, text) => status === 400 || status === 422
        ? new AlertmanagerError('refused', `Alertmanager refused the silence: ${text}`, { status })
        : undefined
    }, options)
    return this.#parse(z.object({ silenceID: z.string().min(1) }), body, 'new silence').silenceID
  }

  /** All silences (`GET /api/v2/silences`), expired ones included. */
  async silences (options: CallOptions = {}): Promise<Silence[]> {
    const body = await this.#request({ what: 'list the silences', method: 'GET', path: 'api/v2/silences' }, options)
    return this.#parse(z.array(silenceSchema), body, 'list of silences')
  }

  /** One silence (`GET /api/v2/silence/{id}`). */
  async silence (id: string, options: CallOptions = {}): Promise<Silence> {
    const body = await this.#request({
      what: 'read the silence',
      method: 'GET',
      path: `api/v2/silence/${this.#silenceId(id)}`,
      refused: (status) => status === 404 ? this.#noSilence(id, status) : undefined
    }, options)
    return this.#parse(silenceSchema, body, 'silence')
  }

  /**
   * Expires a silence now (`DELETE /api/v2/silence/{id}`). Expiring one that
   * has already expired succeeds.
   */
  async expireSilence (id: string, options: CallOptions = {}): Promise<void> {
    await this.#request({
      what: 'expire the silence',
      method: 'DELETE',
      path: `api/v2/silence/${this.#silenceId(id)}`,
      // Alertmanager 0.25 answers an unknown id with 500 "silence not found"; later versions with 404.
      refused: (status, text) => status === 404 || /silence not found/i.test(text) ? this.#noSilence(id, status) : undefined
    }, options)
  }

  #silenceId (id: string): string {
    if (!SILENCE_ID.test(id)) {
      const shown = id.length > 60 ? `${id.slice(0, 60)}…` : id
      throw new AlertmanagerError('not-found', `"${shown}" is not a silence id (they look like 8a1f0c2e-…, as the list of silences shows)`)
    }
    return id.toLowerCase()
  }

  #noSilence (id: string, status: number): AlertmanagerError {
    return new AlertmanagerError('not-found', `no silence with id ${id}`, { status })
  }

  #parse<S extends z.ZodType>(schema: S, body: string, what: string): z.output<S> {
    let json: unknown
    try {
      json = JSON.parse(body)
    } catch {
      throw new AlertmanagerError('invalid-response', `Alertmanager's answer is not JSON where a ${what} was expected (is the URL the Alertmanager's?)`)
    }
    const parsed = schema.safeParse(json)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const where = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`
      throw new AlertmanagerError('invalid-response', `Alertmanager's ${what} is not what its API v2 returns${where}: ${issue?.message ?? 'invalid'}`, { cause: parsed.error })
    }
    return parsed.data
  }

  /** Sends a request; returns the answer's body on a 2xx, else throws what `call.refused` or the defaults say. */
  async #request (call: Call, options: CallOptions): Promise<string> {
    const url = new URL(call.path, this.#base)
    if (call.query !== undefined && call.query.size > 0) url.search = call.query.toString()
    const timeout = AbortSignal.timeout(this.timeoutMs)
    const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal])
    const headers: Record<string, string> = { accept: 'application/json' }
    if (call.body !== undefined) headers['content-type'] = 'application/json'
    if (this.#authorization !== undefined) headers.authorization = this.#authorization
    let status: number
    let body: string
    try {
      const response = await fetch(url, {
        method: call.method,
        headers,
        body: call.body === undefined ? null : JSON.stringify(call.body),
        signal
      })
      status = response.status
      body = await response.text()
    } catch (error) {
      if (options.signal?.aborted === true) {
        throw new AlertmanagerError('aborted', `the request to ${call.what} was cancelled`, { cause: error })
      }
      if (timeout.aborted) {
        throw new AlertmanagerError('timeout', `Alertmanager did not answer within ${seconds(this.timeoutMs)}`, { cause: error })
      }
      throw new AlertmanagerError('unreachable', `Alertmanager could not be reached: ${connectionProblem(error)}`, { cause: error })
    }
    if (status >= 200 && status < 300) return body
    const text = errorText(body)
    const refused = call.refused?.(status, text)
    if (refused !== undefined) throw refused
    if (status === 401 || status === 403) {
      throw new AlertmanagerError('refused', `Alertmanager refused to ${call.what}: not authorized (HTTP ${status})`, { status })
    }
    throw new AlertmanagerError('refused', `Alertmanager could not ${call.what}: HTTP ${status}${text === '' ? '' : `, ${text}`}`, { status })
  }
}
