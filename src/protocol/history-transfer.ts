/**
 * History in bulk, over `ENTRIES_PROTOCOL`, both sides. A peer that holds
 * entries whose ancestors it lacks (a member back after a while, a gossip
 * message missed) asks the peer that sent them for everything it lacks,
 * naming its own heads; the other side walks back from what is wanted to
 * where the asker's history begins (`log-difference.ts`) and streams the
 * difference oldest first, in frames, so the asker joins (and hands over) the
 * first entries while the rest is still on the way. OrbitDB fetches history
 * one block per bitswap want, each after a DHT provider lookup.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { z } from 'zod'
import { decodeCbor, encodeCbor } from './encoding.ts'
import type { GroupLog } from './group-log.ts'
import { difference } from './log-difference.ts'
import { bytes } from './schemas.ts'
import type { StockSync } from './stock-sync.ts'
import { joinReceived, MAX_SYNC_MESSAGE, type SyncDeps } from './sync-deps.ts'

export const ENTRIES_PROTOCOL = '/bertybot/entries/1.0.0'
/** A history transfer may take long; it fails only when nothing arrives for this long. */
const FETCH_IDLE_TIMEOUT_MS = 15_000
/** Entries per frame of a history transfer, and bytes at most. */
const FRAME_ENTRIES = 256
const FRAME_BYTES = 1024 * 1024
/**
 * Frames sent ahead of the asker's acknowledgements. A stream buffers whatever
 * arrives until it is read, up to a limit past which it fails: without this a
 * fast sender overruns an asker busy joining what came before.
 */
const FRAMES_IN_FLIGHT = 2

const hash = z.string().min(1).max(128)
const entriesRequestSchema = z.object({ address: z.string().max(512), want: z.array(hash).max(1024), have: z.array(hash).max(1024) })
const entriesFrameSchema = z.object({ entries: z.array(bytes()).max(FRAME_ENTRIES) }).or(z.object({ end: z.literal(true) }))
const entriesAckSchema = z.object({ ack: z.literal(true) })

export interface HistoryTransferDeps extends SyncDeps {
  /** For peers that do not speak `ENTRIES_PROTOCOL`. */
  stock: StockSync
}

/**
 * A peer to fetch from, and the heads it named in a heads exchange;
 * `undefined` when what it has is not known (it passed on an entry whose
 * parents the log lacks, or it is on the log's topic).
 */
interface Candidate { peer: PeerId, offered: Set<string> | undefined }

export class HistoryTransfer {
  readonly #deps: HistoryTransferDeps
  /** Logs whose missing history is being fetched: the peers that have offered it since, and the fetch. */
  readonly #fetching = new Map<string, { peers: Map<string, Candidate>, done: Promise<void> }>()

  constructor (deps: HistoryTransferDeps) {
    this.#deps = deps
  }

  /**
   * Fetches what `log` lacks, from `peers` first, then from whoever else
   * offered it meanwhile, then from the other peers on its topic; one fetch
   * per log at a time. `offered`: the heads `peers` named (a heads exchange);
   * a peer none of whose heads is still lacking when its turn comes (they came
   * by another path: gossip, another fetch) is not asked: that fetch would
   * cost a stream and bring nothing.
   */
  async fetchMissing (log: GroupLog, peers: PeerId[], offered?: string[]): Promise<void> {
    const { libp2p, logger, running } = this.#deps
    const inProgress = this.#fetching.get(log.address)
    if (inProgress !== undefined) {
      for (const peer of peers) addCandidate(inProgress.peers, peer, offered)
      await inProgress.done
      return
    }
    const candidates = new Map<string, Candidate>()
    for (const peer of peers) addCandidate(candidates, peer, offered)
    const done = (async () => {
      const tried = new Set<string>()
      let askedTopic = false
      while (running() && this.#deps.log(log.address) === log) {
        const before = log.missing()
        if (before.length === 0) break
        let next = [...candidates.values()].find((c) => !tried.has(c.peer.toString()))
        if (next === undefined && !askedTopic) {
          askedTopic = true
          for (const peer of libp2p.services.pubsub.getSubscribers(log.address)) addCandidate(candidates, peer, undefined)
          next = [...candidates.values()].find((c) => !tried.has(c.peer.toString()))
        }
        if (next === undefined) break
        tried.add(next.peer.toString())
        const { offered } = next
        if (offered !== undefined && !before.some((hash) => offered.has(hash))) continue
        await this.#fetchFrom(next.peer, log)
        // Progress: the same peer may have more (a transfer is capped), asked for all; no progress: the next one.
        if (log.missing().some((hash) => !before.includes(hash))) {
          tried.delete(next.peer.toString())
          next.offered = undefined
        }
      }
      // Heads peers named and nobody gave may not exist: they come again with the next exchange.
      log.unwant()
    })().catch((err: unknown) => {
      if (running()) logger.debug({ address: log.address, err }, 'fetching history failed')
    }).finally(() => { this.#fetching.delete(log.address) })
    this.#fetching.set(log.address, { peers: candidates, done })
    await done
  }

  /** Asks `peer` for the entries `log` lacks and joins them as they come. */
  async #fetchFrom (peer: PeerId, log: GroupLog): Promise<void> {
    const { libp2p, logger, running, stopping } = this.#deps
    const want = log.missing().slice(0, 1024)
    if (want.length === 0) return
    let idle = new AbortController()
    let idleTimer = setTimeout(() => { idle.abort() }, FETCH_IDLE_TIMEOUT_MS)
    const signal = (): AbortSignal => AbortSignal.any([stopping, idle.signal])
    const alive = (): void => {
      clearTimeout(idleTimer)
      idle = new AbortController()
      idleTimer = setTimeout(() => { idle.abort() }, FETCH_IDLE_TIMEOUT_MS)
    }
    let stream: Stream
    try {
      stream = await libp2p.dialProtocol(peer, ENTRIES_PROTOCOL, { signal: signal() })
    } catch (err) {
      clearTimeout(idleTimer)
      if ((err as Error).name === 'UnsupportedProtocolError') await this.#deps.stock.fetchBlocks(peer, log)
      else if (running()) logger.debug({ peer: peer.toString(), err: (err as Error).message }, 'history fetch: dial failed')
      return
    }
    let received = 0
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_SYNC_MESSAGE })
      await lp.write(encodeCbor({ address: log.address, want, have: log.heads().slice(0, 1024) } satisfies z.infer<typeof entriesRequestSchema>), { signal: signal() })
      for (;;) {
        const frame = decodeCbor((await lp.read({ signal: signal() })).subarray(), entriesFrameSchema)
        alive()
        if (frame === undefined) throw new Error('malformed history frame')
        if ('end' in frame) break
        received += frame.entries.length
        await joinReceived(this.#deps, log, frame.entries, peer.toString())
        await lp.write(encodeCbor({ ack: true } satisfies z.infer<typeof entriesAckSchema>), { signal: signal() })
      }
      await stream.close({ signal: signal() }).catch(() => {})
      logger.debug({ peer: peer.toString(), address: log.address, entries: received }, 'fetched history')
    } catch (err) {
      stream.abort(err as Error)
      if (running()) logger.debug({ peer: peer.toString(), address: log.address, received, err: (err as Error).message }, 'history fetch failed')
    } finally {
      clearTimeout(idleTimer)
    }
  }

  /** Answers a history request: what the asker lacks of what it wants, oldest first, in frames it acknowledges. */
  async serve (stream: Stream, connection: Connection): Promise<void> {
    const { logger, running, stopping } = this.#deps
    // Each step waits at most this long: the transfer as a whole may take long.
    const step = (): AbortSignal => AbortSignal.any([stopping, AbortSignal.timeout(FETCH_IDLE_TIMEOUT_MS)])
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_SYNC_MESSAGE })
      const request = decodeCbor((await lp.read({ signal: step() })).subarray(), entriesRequestSchema, (reason) => {
        logger.warn({ peer: connection.remotePeer.toString(), reason }, 'dropped a malformed history request')
      })
      const log = request === undefined ? undefined : this.#deps.log(request.address)
      if (request !== undefined && log !== undefined) {
        let unacknowledged = 0
        const send = async (entries: Uint8Array[]): Promise<void> => {
          if (unacknowledged === FRAMES_IN_FLIGHT) {
            if (decodeCbor((await lp.read({ signal: step() })).subarray(), entriesAckSchema) === undefined) throw new Error('not an acknowledgement')
            unacknowledged--
          }
          await lp.write(encodeCbor({ entries }), { signal: step() })
          unacknowledged++
        }
        let frame: Uint8Array[] = []
        let size = 0
        for (const hash of await difference(log, request.want, request.have)) {
          const entry = await log.get(hash)
          if (entry === undefined) continue
          if (frame.length === FRAME_ENTRIES || (frame.length > 0 && size + entry.bytes.length > FRAME_BYTES)) {
            await send(frame)
            frame = []
            size = 0
          }
          frame.push(entry.bytes)
          size += entry.bytes.length
        }
        if (frame.length > 0) await send(frame)
      }
      await lp.write(encodeCbor({ end: true }), { signal: step() })
      await stream.close({ signal: step() }).catch(() => {})
    } catch (err) {
      stream.abort(err as Error)
      if (running()) logger.debug({ peer: connection.remotePeer.toString(), err: (err as Error).message }, 'serving history failed')
    }
  }
}

/** Adds `peer` to `candidates`, with what it offered; one that offered what is not known is asked for all. */
function addCandidate (candidates: Map<string, Candidate>, peer: PeerId, offered: string[] | undefined): void {
  const key = peer.toString()
  const known = candidates.get(key)
  if (known === undefined) candidates.set(key, { peer, offered: offered === undefined ? undefined : new Set(offered) })
  else if (offered === undefined) known.offered = undefined
  else for (const hash of offered) known.offered?.add(hash)
}
