/**
 * The page's end of the WebSocket API (../api.ts): typed calls that resolve
 * with results checked against the method's schema, events handed on once
 * they parse, and a new socket with growing pauses whenever the old one
 * closes. Whatever the server sends that does not fit the API is dropped
 * with a warning, never acted on.
 */
import { methods, serverMessage, type MethodName, type Params, type Result, type ServerEvent } from '../api.ts'

export type ConnectionStatus =
  | { state: 'connecting', attempt: number }
  | { state: 'open' }
  | { state: 'waiting', attempt: number, retryAt: number }

/** A call that did not give a result: the server's error, or why there was no answer. */
export class CallError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.code = code
    this.name = 'CallError'
  }
}

export interface ConnectionHandlers {
  event: (event: ServerEvent) => void
  status: (status: ConnectionStatus) => void
}

interface Pending {
  method: MethodName
  resolve: (result: unknown) => void
  reject: (error: CallError) => void
  timer: ReturnType<typeof setTimeout>
}

/** How long a call waits for its answer: the server answers at once or after one network round, never minutes. */
const CALL_TIMEOUT_MS = 60_000
const FIRST_PAUSE_MS = 500
const LONGEST_PAUSE_MS = 15_000

/** The pause before attempt `n` (1, 2, …): doubling, capped, with jitter so that tabs do not retry in step. */
export function backoff (attempt: number): number {
  const base = Math.min(LONGEST_PAUSE_MS, FIRST_PAUSE_MS * 2 ** Math.max(0, attempt - 1))
  return Math.round(base * (0.75 + Math.random() * 0.5))
}

export class Connection {
  readonly #url: string
  readonly #handlers: ConnectionHandlers
  #socket: WebSocket | undefined
  #nextId = 1
  readonly #pending = new Map<number, Pending>()
  /** Failed attempts since the last open socket. */
  #attempt = 0
  #retry: ReturnType<typeof setTimeout> | undefined
  #status: ConnectionStatus = { state: 'connecting', attempt: 0 }

  constructor (url: string, handlers: ConnectionHandlers) {
    this.#url = url
    this.#handlers = handlers
  }

  get status (): ConnectionStatus {
    return this.#status
  }

  start (): void {
    this.#connect()
  }

  /** Tries again now instead of at the end of the pause. */
  retryNow (): void {
    if (this.#status.state !== 'waiting') return
    clearTimeout(this.#retry)
    this.#connect()
  }

  async call<M extends MethodName> (method: M, params: Params<M>): Promise<Result<M>> {
    const socket = this.#socket
    if (socket === undefined || socket.readyState !== WebSocket.OPEN) {
      throw new CallError('offline', 'Not connected to bertybot web; try again once it is back.')
    }
    const id = this.#nextId++
    return await new Promise<Result<M>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new CallError('timeout', `bertybot web did not answer ${method} within ${CALL_TIMEOUT_MS / 1000} s.`))
      }, CALL_TIMEOUT_MS)
      this.#pending.set(id, { method, resolve: resolve as (result: unknown) => void, reject, timer })
      socket.send(JSON.stringify({ id, method, params }))
    })
  }

  #setStatus (status: ConnectionStatus): void {
    this.#status = status
    this.#handlers.status(status)
  }

  #connect (): void {
    this.#setStatus({ state: 'connecting', attempt: this.#attempt })
    let socket: WebSocket
    try {
      socket = new WebSocket(this.#url)
    } catch (err) {
      console.warn('could not open the WebSocket', err)
      this.#scheduleRetry()
      return
    }
    this.#socket = socket
    socket.addEventListener('open', () => {
      this.#attempt = 0
      this.#setStatus({ state: 'open' })
    })
    socket.addEventListener('message', (message) => { this.#receive(message.data) })
    socket.addEventListener('close', () => {
      if (this.#socket !== socket) return
      this.#socket = undefined
      this.#failPending()
      this.#scheduleRetry()
    })
  }

  #scheduleRetry (): void {
    this.#attempt++
    const pause = backoff(this.#attempt)
    this.#setStatus({ state: 'waiting', attempt: this.#attempt, retryAt: Date.now() + pause })
    this.#retry = setTimeout(() => { this.#connect() }, pause)
  }

  /** Calls in flight on a closed socket get no answer: they fail now rather than at their timeout. */
  #failPending (): void {
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer)
      pending.reject(new CallError('disconnected', `The connection to bertybot web closed before it answered ${pending.method}.`))
      this.#pending.delete(id)
    }
  }

  #receive (data: unknown): void {
    if (typeof data !== 'string') {
      console.warn('dropped a binary WebSocket message: the API sends JSON text')
      return
    }
    let json: unknown
    try {
      json = JSON.parse(data)
    } catch {
      console.warn('dropped a WebSocket message that is not JSON', data.slice(0, 200))
      return
    }
    const parsed = serverMessage.safeParse(json)
    if (!parsed.success) {
      console.warn('dropped a server message that does not fit the API', parsed.error.issues, json)
      return
    }
    const message = parsed.data
    if ('event' in message) {
      this.#handlers.event(message)
      return
    }
    const pending = this.#pending.get(message.id)
    if (pending === undefined) {
      console.warn(`dropped an answer to request ${message.id}, which is not waiting for one`)
      return
    }
    this.#pending.delete(message.id)
    clearTimeout(pending.timer)
    if ('error' in message) {
      pending.reject(new CallError(message.error.code, message.error.message))
      return
    }
    const result = methods[pending.method].result.safeParse(message.result)
    if (!result.success) {
      console.warn(`dropped the result of ${pending.method}: it does not fit the API`, result.error.issues, message.result)
      pending.reject(new CallError('bad-result', `bertybot web answered ${pending.method} with something this page cannot read.`))
      return
    }
    pending.resolve(result.data)
  }
}

/** The API's address: the page's own origin, path /api. */
export function apiUrl (location: Location): string {
  return `${location.protocol === 'https:' ? 'wss://' : 'ws://'}${location.host}/api`
}
