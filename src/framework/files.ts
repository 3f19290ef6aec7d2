/**
 * Files a bot sends: stored by the peer (encrypted, staged) while the
 * handler runs, then queued in the outbox with the message that carries
 * them, in the handler's transaction. Once that is committed the files are
 * kept (`peer.files.keep`); a crash in between leaves them staged, and the
 * next start keeps those a queued message refers to (`queuedFiles`) and
 * deletes the others, so a message is sent once and its file is there.
 *
 * The outbox keeps a file's reference as JSON (bytes in base64).
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { InvalidMessageError, type AbortOptions, type FileReference, type OutgoingMessage, type Peer, type SealedMessage } from '../protocol/index.ts'
import type { Transaction } from './transaction.ts'
import type { OutboxFile, OutboxItem } from './store-records.ts'

/** What `ctx.replyWithFile()` takes besides the file. */
export interface FileReplyOptions {
  /** The name to show; a path's last part by default. */
  name?: string
  /** The media type, such as `image/png`. */
  type: string
  /** A text to go with it. */
  text?: string
  /** Images only: a small preview (at most 16 KiB). */
  preview?: Uint8Array
  /** The id of the message this one answers. */
  replyTo?: string
  /** A name for the message, as `SendOptions.tag`. */
  tag?: string
}

/** A stored file's reference as the outbox keeps it. */
export function toOutbox (file: FileReference): OutboxFile {
  const { key, preview, ...rest } = file
  return { ...rest, key: base64(key), ...(preview === undefined ? {} : { preview: base64(preview) }) }
}

function fromOutbox (file: OutboxFile): FileReference {
  const { key, preview, ...rest } = file
  return { ...rest, key: bytes(key), ...(preview === undefined ? {} : { preview: bytes(preview) }) }
}

/** What a queued item sends: its message, with the files it carries if it is a text. */
export function messageOf (item: OutboxItem): OutgoingMessage {
  const { message, files } = item
  if (files === undefined || (message.kind !== undefined && message.kind !== 'text')) return message
  return { ...message, files: files.map(fromOutbox) }
}

/** A queued message's sealed bytes, with the roots of its files (named in the entry that sends it). */
export function sealedOf (item: OutboxItem): SealedMessage {
  return { group: item.group, bytes: item.sealed as Uint8Array, files: item.files?.map((file) => file.root) }
}

/** The roots of the files queued messages carry. */
export function rootsOf (items: readonly OutboxItem[]): string[] {
  return items.flatMap((item) => item.files?.map((file) => file.root) ?? [])
}

/**
 * Stores `pathOrBytes` (a file's path, or its bytes) and queues a message
 * carrying it to `group` in `tx`. Throws `FileTooLargeError` past the peer's
 * `maxFileSize`, `InvalidOptionError` for a bad name or type.
 */
export async function queueFile (deps: { peer: Peer, tx: Transaction }, group: string, pathOrBytes: string | Uint8Array, options: FileReplyOptions, abort: AbortOptions = {}): Promise<void> {
  const text = options.text ?? ''
  if (typeof text !== 'string') throw new InvalidMessageError('a file\'s message text is a string')
  const description = { name: options.name ?? (typeof pathOrBytes === 'string' ? basename(pathOrBytes) : ''), type: options.type, preview: options.preview }
  const file = typeof pathOrBytes === 'string'
    // The size read now: a file that grows or shrinks while it is read fails, rather than being sent half.
    ? await deps.peer.files.store(createReadStream(pathOrBytes), { ...description, size: (await stat(pathOrBytes)).size }, abort)
    : await deps.peer.files.store(pathOrBytes, description, abort)
  deps.tx.send({ group, message: { text, replyTo: options.replyTo }, tag: options.tag, files: [toOutbox(file)] })
}

/** The roots of the files the outbox still holds: kept at start, though staged (`createPeer`'s `keepStagedFile`). */
export async function queuedFiles (pending: () => Promise<OutboxItem[]>): Promise<Set<string>> {
  return new Set(rootsOf(await pending()))
}

function base64 (value: Uint8Array): string {
  return Buffer.from(value).toString('base64')
}

function bytes (value: string): Uint8Array {
  return new Uint8Array(Buffer.from(value, 'base64'))
}
