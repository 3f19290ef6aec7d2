/**
 * The peer's files: stored encrypted (`file-cipher.ts`) as a UnixFS DAG of
 * blocks in the peer's blockstore (chunked by @helia/unixfs, Helia's own
 * UnixFS), and read back as a stream from whoever holds the blocks: this
 * peer, or the group's peers over bitswap.
 *
 * A file being stored is staged (`file-records.ts`) until what refers to it
 * is committed: the message that carries it (the group's append writes
 * `unstageOps` with the entry), or a bot's outbox item (`keep`). At start,
 * staged files are deleted, block by block, unless `start`'s `keep` says
 * something committed refers to them after all.
 */
import type { CatOptions, UnixFS } from '@helia/unixfs'
import { CID } from 'multiformats/cid'
import { AbortError, throwIfAborted, type AbortOptions } from './abort.ts'
import type { LocalBlocks } from './blockstore.ts'
import { bytesToHex, KEY_SIZE, randomBytes } from './crypto.ts'
import { FileReadError, FileTooLargeError, InvalidOptionError } from './errors.ts'
import { openFile, sealedFileSize, sealFile } from './file-cipher.ts'
import { FileRecords } from './file-records.ts'
import { checkedFileDescription, fileReferenceSchema, type FileReference } from './file-reference.ts'
import type { Logger } from './logger.ts'
import type { StateOp, StateStore } from './state-store.ts'

/**
 * Blocks written at once while storing: the importer holds this many leaves
 * (1 MiB each) before it writes them, so they are on disk as the file comes,
 * not all at its end.
 */
const WRITE_CONCURRENCY = 4
/** Blocks a read fetches at once: a file's leaves are 1 MiB each. */
const READ_CONCURRENCY = 8

/** How a file's blocks are read: `blockReadConcurrency` is the UnixFS exporter's, which `cat` passes on. */
export function catOptions (signal: AbortSignal | undefined): CatOptions {
  const options: CatOptions & { blockReadConcurrency: number } = { signal, blockReadConcurrency: READ_CONCURRENCY }
  return options
}

/** What a file is stored from: its bytes, or a stream of them (a Node `Readable` is one). */
export type FileSource = Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>

/** What the caller says of a file it stores. */
export interface FileDescription {
  /** The name to show and save it as; path parts are dropped. */
  name: string
  /** Its media type, such as `image/png`. */
  type: string
  /** Images only: a small preview (at most 16 KiB), shown before the file is fetched. */
  preview?: Uint8Array | undefined
  /** Its size, when known beforehand: a source that gives more or fewer bytes fails. */
  size?: number | undefined
}

export interface FileStoreDeps {
  state: StateStore
  /** This peer's blocks, without the network. */
  blocks: LocalBlocks
  /** The blockstore that fetches what is not here from connected peers (Helia's, over bitswap). */
  network: UnixFSBlocks
  /** The largest file stored or read, in bytes. */
  maxFileSize: number
  logger: Logger
  now: () => number
}

interface Staged { stageId: string, blocks: Set<string> }
/** A blockstore as UnixFS reads and writes it. */
export type UnixFSBlocks = Parameters<typeof import('@helia/unixfs').unixfs>[0]['blockstore']

let loading: Promise<typeof import('@helia/unixfs')> | undefined
/** Helia's UnixFS over `blockstore`, its modules loaded at the first use: a peer that handles no file does not load them at start. */
export async function unixfsOver (blockstore: UnixFSBlocks): Promise<UnixFS> {
  loading ??= import('@helia/unixfs')
  return (await loading).unixfs({ blockstore })
}

export class FileStore {
  readonly #deps: FileStoreDeps
  readonly #records: FileRecords
  /** Files staged in this session, by root. */
  readonly #staged = new Map<string, Staged>()

  constructor (deps: FileStoreDeps) {
    this.#deps = deps
    this.#records = new FileRecords(deps.state)
  }

  get maxFileSize (): number {
    return this.#deps.maxFileSize
  }

  /** Deletes the files left staged by an earlier run, but those `keep` says are committed (they are unstaged). */
  async start (keep: (root: string) => boolean | Promise<boolean>): Promise<void> {
    const { state, logger } = this.#deps
    for (const file of await this.#records.staged()) {
      if (file.root !== undefined && await keep(file.root)) {
        await state.batch(this.#records.unstageOps(file))
        continue
      }
      await this.#delete(file)
      logger.info({ blocks: file.blocks.length, root: file.root }, 'deleted a file left staged by an earlier run')
    }
  }

  /**
   * Encrypts and stores a file, staged; resolves with the reference a message
   * carries. Throws `FileTooLargeError` past `maxFileSize` (or past the size
   * said), `InvalidOptionError` for a bad description, `AbortError` when
   * `signal` aborts; what was written of it is deleted then.
   */
  async store (source: FileSource, description: FileDescription, options: AbortOptions = {}): Promise<FileReference> {
    const { name, type, preview } = checkedFileDescription(description)
    const { size } = description
    const { maxFileSize, state, blocks, now } = this.#deps
    if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) throw new InvalidOptionError('a file\'s size is a whole number of bytes')
    if (size !== undefined && size > maxFileSize) throw new FileTooLargeError(maxFileSize, `the file has ${size} bytes; this peer takes at most ${maxFileSize}`)
    throwIfAborted(options.signal, 'storing the file')
    const key = randomBytes(KEY_SIZE)
    const staged: Staged = { stageId: bytesToHex(randomBytes(16)), blocks: new Set() }
    const since = now()
    await state.batch([this.#records.stageOp(staged.stageId, since)])
    const staging: UnixFSBlocks = {
      put: async (cid, bytes) => {
        // The record first: a crash between the two leaves a record of a missing block, never a block without one.
        await state.batch([this.#records.blockOp(staged.stageId, cid.toString())])
        staged.blocks.add(cid.toString())
        await blocks.put(cid, await bytesOf(bytes))
        return cid
      },
      get: async function * (cid) {
        const bytes = await blocks.get(cid)
        if (bytes !== undefined) yield bytes
      },
      has: async (cid) => await blocks.has(cid)
    }
    let plaintextSize = 0
    let root: string
    try {
      const sealed = sealFile(chunksOf(source), key, { maxSize: maxFileSize, expectedSize: size, signal: options.signal, onEnd: (n) => { plaintextSize = n } })
      root = (await (await unixfsOver(staging)).addByteStream(sealed, { signal: options.signal, blockWriteConcurrency: WRITE_CONCURRENCY })).toString()
      await state.batch([this.#records.stageOp(staged.stageId, since, root)])
    } catch (err) {
      await this.#delete({ stageId: staged.stageId, blocks: [...staged.blocks] }).catch((failure: unknown) => { this.#deps.logger.warn({ err: failure }, 'could not delete a file whose storing failed: the next start will') })
      if (options.signal?.aborted === true) throw new AbortError('storing the file', options.signal.reason)
      throw err
    }
    this.#staged.set(root, staged)
    return { root, key, size: plaintextSize, type, name, ...(preview === undefined ? {} : { preview }) }
  }

  /** The writes that unstage files stored in this session (to go with what commits them), and what to do once they are written. */
  unstaging (roots: Iterable<string>): { ops: StateOp[], committed: () => void } {
    const found = [...new Set(roots)].flatMap((root) => {
      const staged = this.#staged.get(root)
      return staged === undefined ? [] : [{ root, staged }]
    })
    return {
      ops: found.flatMap(({ staged }) => this.#records.unstageOps(staged)),
      committed: () => { for (const { root } of found) this.#staged.delete(root) }
    }
  }

  /** Unstages files: something committed refers to them (a bot's outbox item), so they stay. */
  async keep (roots: Iterable<string>): Promise<void> {
    const { ops, committed } = this.unstaging(roots)
    await this.#deps.state.batch(ops)
    committed()
  }

  /** Deletes files stored in this session and not committed (what would have referred to them was given up). */
  async discard (roots: Iterable<string>): Promise<void> {
    for (const root of new Set(roots)) {
      const staged = this.#staged.get(root)
      if (staged === undefined) continue
      this.#staged.delete(root)
      await this.#delete({ stageId: staged.stageId, blocks: [...staged.blocks] })
    }
  }

  /**
   * The file's bytes, fetched, checked and decrypted as they are read. Throws
   * `FileReadError` (wrong key, truncated, tampered, too large, not a file),
   * or `AbortError` when `signal` aborts; until a peer holding its blocks is
   * connected, it waits: bound the wait with `signal`.
   */
  async * read (reference: FileReference, options: AbortOptions = {}): AsyncGenerator<Uint8Array> {
    const checked = fileReferenceSchema.safeParse(reference)
    if (!checked.success) throw new InvalidOptionError('not a file reference')
    const { root, key, size } = checked.data
    const { signal } = options
    if (size > this.#deps.maxFileSize) throw new FileReadError('too-large', `the file has ${size} bytes; this peer reads at most ${this.#deps.maxFileSize}`)
    const sealedSize = sealedFileSize(size)
    const cid = CID.parse(root)
    try {
      const reader = await unixfsOver(this.#deps.network)
      const stat = await reader.stat(cid, { signal })
      if (stat.type === 'directory') throw new FileReadError('not-a-file', 'the message names a directory, not a file')
      if (stat.size > BigInt(sealedSize)) throw new FileReadError('too-large', `the file's blocks hold ${stat.size} bytes, more than the ${sealedSize} its message says`)
      if (stat.size < BigInt(sealedSize)) throw new FileReadError('truncated', `the file's blocks hold ${stat.size} bytes, fewer than the ${sealedSize} its message says`)
      for await (const plain of openFile(reader.cat(cid, catOptions(signal)), key, sealedSize)) {
        if (plain.length > 0) yield plain
      }
    } catch (err) {
      if (signal?.aborted === true && !(err instanceof FileReadError)) throw new AbortError('reading the file', signal.reason)
      throw err
    }
  }

  /** Deletes a staged file's blocks, then its records. */
  async #delete (file: { stageId: string, blocks: string[] }): Promise<void> {
    for (const cid of file.blocks) await this.#deps.blocks.delete(CID.parse(cid))
    await this.#deps.state.batch(this.#records.unstageOps(file))
  }
}

async function * chunksOf (source: FileSource): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    yield source
    return
  }
  for await (const chunk of source) {
    if (!(chunk instanceof Uint8Array)) throw new InvalidOptionError('a file\'s source gives bytes (Uint8Array or Buffer), not text')
    yield chunk
  }
}

async function bytesOf (value: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  if (value instanceof Uint8Array) return value
  const chunks: Uint8Array[] = []
  for await (const chunk of value) chunks.push(chunk)
  return Buffer.concat(chunks)
}
