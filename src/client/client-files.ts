/**
 * Files in a person's conversations: sending one (stored encrypted by the
 * peer, then recorded in the history with the message that carries it), and
 * reading one a message carries, streamed from the peer's `read()` and no
 * larger than the peer takes. The history keeps each file's reference (what
 * opens it), never its bytes.
 *
 * A file stays staged in the peer until something committed refers to it.
 * Here that is the history's record of the message: the file is stored, the
 * message recorded with it (marked `staging`), the file kept (unstaged), and
 * the mark taken off. A crash before the file is kept leaves it staged, and
 * the peer deletes it at the next start; the message, still marked, is
 * marked failed then (`failStaged`): never sent with a file that is gone.
 * (A crash in the moment between keeping the file and taking the mark off
 * fails the message all the same, and leaves its encrypted blocks behind.)
 */
import type { AbortOptions, FileReference, FileSource, Group, Logger, Peer } from '../protocol/index.ts'
import { ClientError } from './client-errors.ts'
import type { HistoryStore, StoredMessage } from './history.ts'
import type { StoredFile } from './history-records.ts'
import { storedFile } from './incoming-events.ts'

/** What the person says of a file they send. */
export interface FileToSend {
  name: string
  type: string
  /** Its size, when known beforehand: a source that gives more or fewer bytes fails. */
  size?: number | undefined
  /** Images: a small preview (at most 16 KiB), which the sender's client makes. */
  preview?: Uint8Array | undefined
  text?: string | undefined
  replyTo?: string | undefined
}

/** A file to read: what it is, and its bytes as they come. */
export interface FileToRead {
  name: string
  type: string
  size: number
  bytes: AsyncIterable<Uint8Array>
}

export interface ClientFilesDeps {
  peer: Peer
  history: HistoryStore
  logger: Logger
  now: () => number
}

export class ClientFiles {
  readonly #deps: ClientFilesDeps

  constructor (deps: ClientFilesDeps) {
    this.#deps = deps
  }

  /** Stores the file and records our message carrying it, as `sending`; the caller sends it. */
  async record (group: Group, source: FileSource, file: FileToSend, abort: AbortOptions = {}): Promise<StoredMessage> {
    const { peer, history } = this.#deps
    const { text = '', replyTo, ...description } = file
    if (description.size !== undefined && description.size > peer.files.maxFileSize) throw tooLarge(description.size, peer.files.maxFileSize)
    const reference = await peer.files.store(source, description, abort)
    const stored = await history.append(group.id, {
      sender: { account: peer.accountId, name: peer.displayName ?? '', own: true },
      text,
      ...(replyTo === undefined ? {} : { replyTo }),
      sentAt: this.#deps.now(),
      state: 'sending',
      files: [storedFile({ reference })],
      staging: true
    })
    await peer.files.keep([reference.root])
    return await history.update(group.id, stored.seq, { staging: undefined }) ?? stored
  }

  /** At start: a message whose file may not have been kept before a crash fails (the peer deleted the file at its start). */
  async failStaged (group: Group, message: StoredMessage): Promise<StoredMessage | undefined> {
    this.#deps.logger.warn({ conversation: group.id, seq: message.seq }, 'a file was being sent when the client stopped: its message is marked failed')
    return await this.#deps.history.update(group.id, message.seq, { state: 'failed', staging: undefined, sealed: undefined })
  }

  /** File `index` of message `seq`, to read; at most the peer's `maxFileSize`. */
  async read (group: Group, seq: number, index: number, abort: AbortOptions = {}): Promise<FileToRead> {
    const file = await this.#file(group, seq, index)
    const max = this.#deps.peer.files.maxFileSize
    if (file.size > max) throw tooLarge(file.size, max)
    return { name: file.name, type: file.type, size: file.size, bytes: this.#deps.peer.files.read(fileReference(file), abort) }
  }

  /** The preview an image's sender gave, if any. */
  async preview (group: Group, seq: number, index: number): Promise<{ type: string, bytes: Uint8Array } | undefined> {
    const file = await this.#file(group, seq, index)
    return file.preview === undefined ? undefined : { type: file.type, bytes: new Uint8Array(Buffer.from(file.preview, 'base64')) }
  }

  async #file (group: Group, seq: number, index: number): Promise<StoredFile> {
    const message = await this.#deps.history.bySeq(group.id, seq)
    const file = message?.files?.[index]
    if (file === undefined) throw new ClientError('ERR_NO_FILE', `message ${seq} has no file ${index}`)
    return file
  }
}

/** A file as the peer reads and sends it. */
export function fileReference (file: StoredFile): FileReference {
  const { root, size, type, name } = file
  return {
    root,
    key: new Uint8Array(Buffer.from(file.key, 'base64')),
    size,
    type,
    name,
    ...(file.preview === undefined ? {} : { preview: new Uint8Array(Buffer.from(file.preview, 'base64')) })
  }
}

function tooLarge (size: number, max: number): ClientError {
  return new ClientError('ERR_FILE_TOO_LARGE', `the file has ${size} bytes; at most ${max} are sent or read`)
}
