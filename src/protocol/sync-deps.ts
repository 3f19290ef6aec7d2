/**
 * What the parts of the log sync depend on, all of them (`log-sync.ts` wires
 * them): the node, the logs registered, whether the sync runs; and how
 * entries a peer sent are taken in. Entries from the network are checked here and in the log's
 * `join` (shape, log, signature); a bad one is logged and dropped, never thrown.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'
import type { GroupLog } from './group-log.ts'
import { decodeEntry, HashedBytes, type StoredEntry } from './log-entry.ts'
import type { Logger } from './logger.ts'

/** The largest message of the sync's protocols: a heads message, a history request or frame. */
export const MAX_SYNC_MESSAGE = 4 * 1024 * 1024
/** The largest entry taken from a peer. */
export const MAX_ENTRY_BYTES = 256 * 1024

export type SyncLibp2p = Libp2p<{ pubsub: GossipSub }>

export interface SyncDeps {
  libp2p: SyncLibp2p
  logger: Logger
  /** The log registered at `address`, if it is. */
  log: (address: string) => GroupLog | undefined
  /** False once the sync stops: failures after that are not worth a log line. */
  running: () => boolean
  /** Aborts when the sync stops. */
  stopping: AbortSignal
}

/**
 * Decodes entries `from` sent and joins them to `log`; what is oversized,
 * undecodable or refused is logged and dropped. What the log knows in memory
 * is skipped before it is decoded: gossip brings a writer back each entry it
 * had a member relay.
 */
export async function joinReceived (deps: SyncDeps, log: GroupLog, entries: Uint8Array[], from: string): Promise<void> {
  const { logger } = deps
  const decoded: StoredEntry[] = []
  for (const bytes of entries) {
    if (bytes.length > MAX_ENTRY_BYTES) {
      logger.warn({ address: log.address, from, size: bytes.length }, 'dropped an oversized log entry')
      continue
    }
    const hashed = await HashedBytes.of(bytes)
    if (log.knows(hashed.hash)) continue
    try {
      decoded.push(await decodeEntry(hashed))
    } catch (err) {
      logger.warn({ address: log.address, from, reason: (err as Error).message }, 'dropped a log entry that does not decode')
    }
  }
  await joinDecoded(deps, log, decoded, from)
}

/** Joins entries decoded already to `log`; what it refuses (not of the log, not signed by its group) is logged and dropped. */
export async function joinDecoded (deps: SyncDeps, log: GroupLog, decoded: StoredEntry[], from: string): Promise<void> {
  const { logger } = deps
  if (decoded.length === 0) return
  try {
    const { rejected } = await log.join(decoded)
    for (const { hash, reason } of rejected) logger.warn({ address: log.address, from, entry: hash, reason }, 'rejected a log entry')
  } catch (err) {
    if (deps.running()) logger.warn({ address: log.address, from, err }, 'could not join log entries')
  }
}
