/**
 * A replica's files: when it takes a message entry that names files (their
 * roots, outside the encryption: `log-entry.ts`), it fetches their blocks
 * from the group's peers and keeps them, so a member gets a file from the
 * replica alone once its sender is gone. It walks each file's UnixFS DAG,
 * whose leaves are ciphertext: it holds no key, and reads nothing.
 *
 * What is still to fetch is recorded (`replica-records.ts`) before it is
 * fetched, so a restart goes on with it; a fetch that fails (nobody holding
 * the blocks is connected) is tried again later, with backoff, while the
 * replica runs. A DAG larger than the largest file a peer takes is given up.
 */
import { CID } from 'multiformats/cid'
import PQueue from 'p-queue'
import { Backoff } from './backoff.ts'
import { sealedFileSize } from './file-cipher.ts'
import { catOptions, unixfsOver, type UnixFSBlocks } from './file-store.ts'
import { groupPayloadSchema, type StoredEntry } from './log-entry.ts'
import type { Logger } from './logger.ts'
import type { ReplicaRecords, WantedFile } from './replica-records.ts'

/** Files fetched at once. */
const FETCH_CONCURRENCY = 2
/** How long one try at a file may take before it is tried again later. */
const FETCH_TIMEOUT_MS = 120_000
const MIN_RETRY_MS = 1_000
const MAX_RETRY_MS = 5 * 60_000

export interface FileKeeperDeps {
  records: ReplicaRecords
  /** The blockstore that fetches from connected peers and keeps what it fetched (Helia's). */
  network: UnixFSBlocks
  /** The largest file kept, in plaintext bytes, as a peer's `maxFileSize`. */
  maxFileSize: number
  logger: Logger
  now: () => number
  /** Told of each file whose blocks are all here. */
  onKept: (file: { group: string, root: string }) => void
}

export class FileKeeper {
  readonly #deps: FileKeeperDeps
  readonly #queue = new PQueue({ concurrency: FETCH_CONCURRENCY })
  /** Roots being fetched or waiting to be. */
  readonly #wanted = new Set<string>()
  /** Files being recorded as wanted: written before the replica's state closes. */
  readonly #recording = new Set<Promise<void>>()
  readonly #stopping = new AbortController()

  constructor (deps: FileKeeperDeps) {
    this.#deps = deps
  }

  /** Goes on fetching what an earlier run had not finished. */
  async start (): Promise<void> {
    for (const [root, file] of await this.#deps.records.wantedFiles()) this.#fetch(root, file)
  }

  /** Takes the files named by entries just stored for `group`: recorded, then fetched. */
  take (group: string, entries: StoredEntry[]): void {
    const recording = this.#take(group, entries)
      .catch((err: unknown) => { this.#deps.logger.warn({ err, group }, 'could not record the files an entry names') })
      .finally(() => { this.#recording.delete(recording) })
    this.#recording.add(recording)
  }

  async #take (group: string, entries: StoredEntry[]): Promise<void> {
    const wanted = new Map<string, WantedFile>()
    for (const entry of entries) {
      const payload = groupPayloadSchema.safeParse(entry.payload)
      for (const root of payload.success ? payload.data.files ?? [] : []) {
        if (!this.#wanted.has(root)) wanted.set(root, { group, since: this.#deps.now() })
      }
    }
    if (wanted.size === 0 || this.#stopping.signal.aborted) return
    await this.#deps.records.wantFiles(wanted)
    for (const [root, file] of wanted) this.#fetch(root, file)
  }

  /** Stops fetching; what was not fetched is fetched after the next start. */
  async stop (): Promise<void> {
    await Promise.all(this.#recording)
    this.#stopping.abort()
    this.#queue.clear()
    await this.#queue.onIdle()
  }

  #fetch (root: string, file: WantedFile): void {
    if (this.#wanted.has(root) || this.#stopping.signal.aborted) return
    this.#wanted.add(root)
    const backoff = new Backoff({ minMs: MIN_RETRY_MS, maxMs: MAX_RETRY_MS })
    const attempt = async (): Promise<void> => {
      const { logger, records, onKept } = this.#deps
      try {
        const kept = await this.#keep(CID.parse(root))
        await records.gotFile(root)
        this.#wanted.delete(root)
        if (kept) onKept({ group: file.group, root })
      } catch (err) {
        if (this.#stopping.signal.aborted) return
        logger.debug({ root, group: file.group, err: (err as Error).message }, 'could not fetch a file yet; will try again')
        await backoff.wait(this.#stopping.signal).catch(() => {})
        if (!this.#stopping.signal.aborted) void this.#queue.add(attempt)
      }
    }
    void this.#queue.add(attempt)
  }

  /** Fetches every block of the file at `root`; false when it is given up (not a file, or too large). */
  async #keep (root: CID): Promise<boolean> {
    const { logger, maxFileSize } = this.#deps
    const signal = AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)])
    const limit = sealedFileSize(maxFileSize)
    const fs = await unixfsOver(this.#deps.network)
    const stat = await fs.stat(root, { signal })
    if (stat.type === 'directory' || stat.size > BigInt(limit)) {
      logger.warn({ root: root.toString(), type: stat.type, size: stat.size.toString() }, 'an entry names something that is not a file this replica keeps: not fetched')
      return false
    }
    let size = 0
    // Reading it whole fetches each block, and the blockstore keeps what it fetched.
    for await (const chunk of fs.cat(root, catOptions(signal))) {
      size += chunk.length
      if (size > limit) {
        logger.warn({ root: root.toString() }, 'a file holds more than its root says: fetching it was given up')
        return false
      }
    }
    return true
  }
}
