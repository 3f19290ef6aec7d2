/**
 * The writer's side of the relay protocol (`entry-relay.ts`): one stream per
 * relay peer, opened on the first hand-over to it and kept, so a busy writer
 * does not pay a stream's set-up (protocol negotiation, the muxer's frames,
 * a lookup of the peer) for every publication. Hand-overs to one peer go out
 * one after another on its stream and are answered in that order
 * (`relay-wire.ts`).
 *
 * A stream that fails (reset, closed, an answer out of turn, none in time)
 * fails every hand-over waiting on it (they return false, and the writer
 * tries the next in its draw or publishes itself); the next hand-over opens
 * another. A stream left idle is closed, so a peer in many conversations does
 * not hold a stream to each of their members; so are all on stop.
 */
import type { PeerId, Stream } from '@libp2p/interface'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import { decodeCbor, encodeCbor } from './encoding.ts'
import { RelayStreamError } from './errors.ts'
import { RELAY_PROTOCOL, relayAnswerSchema, type RelayRequest } from './relay-wire.ts'
import type { SyncDeps } from './sync-deps.ts'

/** How long the stream may take to open, and the oldest hand-over waiting to be answered (since the last answer). */
const ANSWER_TIMEOUT_MS = 5_000
/** How long a stream with nothing waiting stays open. */
const IDLE_CLOSE_MS = 30_000
/** An answer is a few bytes: anything larger is not one. */
const MAX_ANSWER_BYTES = 256

export type RelayStreamsDeps = Pick<SyncDeps, 'libp2p' | 'logger' | 'running'>

/** What a hand-over tells the relay besides its entries (`relayRequestSchema`). */
export interface HandOverFlags {
  unheard?: boolean
  alone?: boolean
}

export class RelayStreams {
  readonly #deps: RelayStreamsDeps
  /** Peer id (as a string) → the stream hand-overs to it go on now. */
  readonly #current = new Map<string, RelayStream>()
  /** Every stream not closed yet, including those being closed: what `stop` aborts. */
  readonly #open = new Set<RelayStream>()

  constructor (deps: RelayStreamsDeps) {
    this.#deps = deps
  }

  /** Hands `entries` of the log at `address` to `peer` (`flags`: see `relayRequestSchema`); true if it took them, false if it refused or the stream failed. */
  async handOver (peer: PeerId, address: string, entries: Uint8Array[], flags: HandOverFlags = {}): Promise<boolean> {
    if (!this.#deps.running()) return false
    const key = peer.toString()
    let stream = this.#current.get(key)
    if (stream === undefined) {
      const opened: RelayStream = new RelayStream(this.#deps, peer, {
        ended: () => { if (this.#current.get(key) === opened) this.#current.delete(key) },
        closed: () => { this.#open.delete(opened) }
      })
      stream = opened
      this.#current.set(key, stream)
      this.#open.add(stream)
    }
    return await stream.handOver(address, entries, flags)
  }

  /** Gives up the stream to a peer that disconnected. */
  forgetPeer (peer: string): void {
    this.#current.get(peer)?.abort(new RelayStreamError('stopped', 'the peer disconnected'))
  }

  /** Aborts every stream (what waits on them fails) and clears their timers. */
  stop (): void {
    for (const stream of this.#open) stream.abort(new RelayStreamError('stopped', 'the sync stopped'))
    this.#current.clear()
    this.#open.clear()
  }
}

interface Opened { stream: Stream, lp: LengthPrefixedStream<Stream> }

interface RelayStreamEvents {
  /** No hand-over goes on this stream anymore. */
  ended: () => void
  /** The stream is closed at both ends, or was never opened. */
  closed: () => void
}

/** One stream to one relay peer, and the hand-overs waiting for their answers on it, oldest first. */
class RelayStream {
  readonly #deps: RelayStreamsDeps
  readonly #peer: PeerId
  readonly #events: RelayStreamEvents
  readonly #opened: Promise<Opened | undefined>
  readonly #waiting: Array<{ id: number, resolve: (ok: boolean) => void }> = []
  /** Aborts the opening and the reading of answers once the stream ended. */
  readonly #ending = new AbortController()
  #stream: Stream | undefined
  #nextId = 0
  /** When the oldest hand-over waiting last saw progress: it was sent, or the one before it was answered. */
  #progressAt = performance.now()
  #timer: NodeJS.Timeout | undefined
  #ended = false

  constructor (deps: RelayStreamsDeps, peer: PeerId, events: RelayStreamEvents) {
    this.#deps = deps
    this.#peer = peer
    this.#events = events
    this.#arm()
    this.#opened = this.#open()
  }

  async handOver (address: string, entries: Uint8Array[], flags: HandOverFlags): Promise<boolean> {
    const opened = await this.#opened
    if (opened === undefined || this.#ended) return false
    const id = this.#nextId++
    const answered = new Promise<boolean>((resolve) => { this.#waiting.push({ id, resolve }) })
    if (this.#waiting.length === 1) this.#progressAt = performance.now()
    this.#arm()
    // Sent as it is called (the stream buffers what it cannot send yet), so requests go out in the order of their ids.
    const request: RelayRequest = { id, address, entries }
    if (flags.unheard === true) request.unheard = true
    if (flags.alone === true) request.alone = true
    opened.lp.write(encodeCbor(request), { signal: this.#ending.signal }).catch((err: unknown) => {
      this.abort(err as Error)
    })
    return await answered
  }

  /** Ends the stream at once: what waits on it fails, and the stream is reset. */
  abort (err: Error): void {
    this.#end(err)
    if (this.#stream === undefined || this.#stream.status === 'open' || this.#stream.status === 'closing') this.#stream?.abort(err)
    this.#closed()
  }

  async #open (): Promise<Opened | undefined> {
    const { libp2p, logger, running } = this.#deps
    let stream: Stream
    try {
      stream = await libp2p.dialProtocol(this.#peer, RELAY_PROTOCOL, { signal: this.#ending.signal })
    } catch (err) {
      if (running() && !this.#ended) logger.debug({ peer: this.#peer.toString(), err: (err as Error).message }, 'relay: could not open a stream')
      this.#end()
      this.#closed()
      return undefined
    }
    if (this.#ended) {
      // Given up (stopped, timed out) while it opened.
      stream.abort(new RelayStreamError('stopped', 'given up while opening'))
      this.#closed()
      return undefined
    }
    this.#stream = stream
    stream.addEventListener('close', (event) => {
      if (event.error !== undefined && running()) logger.debug({ peer: this.#peer.toString(), err: event.error.message }, 'relay: the stream failed')
      this.#end()
      this.#closed()
    }, { once: true })
    const lp = lpStream(stream, { maxDataLength: MAX_ANSWER_BYTES })
    this.#progressAt = performance.now()
    this.#arm()
    void this.#readAnswers(lp)
    return { stream, lp }
  }

  /** Reads answers as they come and settles the oldest hand-over waiting with each; any other answer ends the stream. */
  async #readAnswers (lp: LengthPrefixedStream<Stream>): Promise<void> {
    try {
      while (!this.#ended) {
        const bytes = await lp.read({ signal: this.#ending.signal })
        const answer = decodeCbor(bytes.subarray(), relayAnswerSchema)
        const oldest = this.#waiting[0]
        if (answer === undefined || oldest === undefined || answer.id !== oldest.id) {
          throw new RelayStreamError('out-of-turn', `an answer ${answer === undefined ? 'that does not decode' : `to ${answer.id}`} while ${oldest === undefined ? 'none' : oldest.id} waits`)
        }
        this.#waiting.shift()
        this.#progressAt = performance.now()
        oldest.resolve(answer.ok)
        this.#arm()
      }
    } catch (err) {
      if (!this.#ended) this.abort(err as Error)
    }
  }

  /** One timer: while opening or while a hand-over waits, the deadline for progress; otherwise, the idle close. */
  #arm (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#ended) return
    if (this.#stream === undefined || this.#waiting.length > 0) {
      const left = this.#progressAt + ANSWER_TIMEOUT_MS - performance.now()
      this.#timer = setTimeout(() => { this.abort(new RelayStreamError('timeout', 'no answer in time')) }, Math.max(0, left))
    } else {
      this.#timer = setTimeout(() => { this.#closeIdle() }, IDLE_CLOSE_MS)
    }
    this.#timer.unref()
  }

  /** Closes our end; the relay closes its end when it reads that, and the stream is then closed. */
  #closeIdle (): void {
    const stream = this.#stream
    this.#end()
    if (stream === undefined) return
    stream.close().catch((err: unknown) => { stream.abort(err as Error) })
  }

  /** No more hand-overs on this stream: those waiting fail. */
  #end (err?: Error): void {
    if (this.#ended) return
    this.#ended = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#ending.abort(err)
    for (const { resolve } of this.#waiting.splice(0)) resolve(false)
    this.#events.ended()
  }

  #closed (): void {
    this.#events.closed()
  }
}
