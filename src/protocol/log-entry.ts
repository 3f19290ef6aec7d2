/**
 * The OrbitDB entries of a group's logs, checked at the edge: shape (zod),
 * then signature by the group's signing key. Used by the access controller,
 * the group identity and the sync, so every path an entry can come in by
 * checks it the same way.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { Entry, type LogEntry } from '@orbitdb/core'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { sha256 as multihashSha256 } from 'multiformats/hashes/sha2'
import { z } from 'zod'
import { bytesToHex, concatBytes, hexToBytes, sha256, sign, verifySignature, type SigningKeyPair } from './crypto.ts'
import { cidString as fileRoot, MAX_FILES_PER_MESSAGE } from './file-reference.ts'
import { bytes } from './schemas.ts'

const hex = (max: number): z.ZodString => z.string().max(max).regex(/^[0-9a-f]+$/)
const cidString = z.string().min(1).max(128)

/** OrbitDB 4 entry fields, bounded so a hostile entry cannot make us allocate or walk without end. */
export const logEntrySchema = z.object({
  id: z.string().min(1).max(512),
  payload: z.unknown(),
  next: z.array(cidString).max(256),
  refs: z.array(cidString).max(256),
  clock: z.object({ id: z.string().max(256), time: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }),
  v: z.literal(2),
  // Any OrbitDB key type is well-formed here; whether it may write is the access controller's call.
  key: hex(256),
  identity: z.string().max(256),
  sig: hex(512),
  hash: cidString.optional()
})

/**
 * The payload of our entries: OrbitDB's Events shape, so a stock OrbitDB peer
 * sees `value` as opaque bytes. `files`, beside the sealed value, names the
 * roots of the files its message carries, so that a replica keeps their
 * blocks without reading the message: it tells whoever holds the log that
 * this entry came with files of these roots (their encrypted blocks say
 * how large they are), and nothing of what they hold. `epoch`, on the
 * metadata entry that starts a new epoch, is the new epoch's public parts
 * sealed with the link key (`epoch-envelope.ts`), so that a replica follows.
 */
export const groupPayloadSchema = z.object({
  op: z.literal('ADD'),
  key: z.null(),
  value: bytes(),
  files: z.array(fileRoot).min(1).max(MAX_FILES_PER_MESSAGE).optional(),
  epoch: bytes().refine((b) => b.length <= 1024, { message: 'an epoch pointer is small' }).optional()
})

/** What one entry of ours carries: the sealed value, the roots of the files its message refers to, a new epoch for replicas. */
export interface EntryValue {
  value: Uint8Array
  files?: string[] | undefined
  epoch?: Uint8Array | undefined
}

export function groupPayload (value: Uint8Array, files?: string[], epoch?: Uint8Array): z.infer<typeof groupPayloadSchema> {
  const payload: z.infer<typeof groupPayloadSchema> = { op: 'ADD', key: null, value }
  if (files !== undefined && files.length > 0) payload.files = files
  if (epoch !== undefined) payload.epoch = epoch
  return payload
}

/** A bounded set that forgets the oldest member first. */
export class BoundedSet<T> {
  readonly #items = new Set<T>()
  readonly #capacity: number

  constructor (capacity: number) {
    this.#capacity = capacity
  }

  has (item: T): boolean {
    return this.#items.has(item)
  }

  delete (item: T): void {
    this.#items.delete(item)
  }

  /** Whether it held `item`, which it holds no more. */
  take (item: T): boolean {
    return this.#items.delete(item)
  }

  add (item: T): void {
    this.#items.delete(item)
    this.#items.add(item)
    if (this.#items.size > this.#capacity) {
      const oldest = this.#items.values().next()
      if (oldest.done !== true) this.#items.delete(oldest.value)
    }
  }
}

/** `verify(sigHex, keyHex, bytes)` as OrbitDB calls it, with a cache: each entry is re-checked up to ~17 times. */
export function cachedEntrySignatureVerifier (capacity = 10_000): (signature: string, publicKey: string, data: Uint8Array) => Promise<boolean> {
  const verified = new BoundedSet<string>(capacity)
  return async (signature, publicKey, data) => {
    const cacheKey = `${publicKey}:${signature}:${bytesToHex(sha256(data))}`
    if (verified.has(cacheKey)) return true
    let ok = false
    try {
      ok = verifySignature(hexToBytes(publicKey), data, hexToBytes(signature))
    } catch {
      ok = false
    }
    if (ok) verified.add(cacheKey)
    return ok
  }
}

/** True when `entry` is well-formed and signed by `signingKeyHex`. */
export async function isValidGroupEntry (entry: LogEntry, signingKeyHex: string, verify: ReturnType<typeof cachedEntrySignatureVerifier>): Promise<boolean> {
  if (!logEntrySchema.safeParse(entry).success) return false
  if (entry.key !== signingKeyHex) return false
  try {
    return await Entry.verify({ verify }, entry)
  } catch {
    return false
  }
}

/** An entry with its hash and the bytes it was decoded from (what is stored and sent). */
export interface StoredEntry extends LogEntry {
  readonly hash: string
  readonly bytes: Uint8Array
}

/** OrbitDB's hash of an entry: the base58btc string of the CIDv1 (dag-cbor, sha2-256) of its bytes. */
export async function entryHash (bytes: Uint8Array): Promise<string> {
  return CID.createV1(dagCbor.code, await multihashSha256.digest(bytes)).toString(base58btc)
}

/**
 * Bytes from the network with the hash an entry of them would have, computed
 * from them (cheap next to decoding): lets a receiver skip what it holds
 * before decoding it. Only `HashedBytes.of` makes one, so its hash is always its bytes'.
 */
export class HashedBytes {
  readonly bytes: Uint8Array
  readonly hash: string

  private constructor (bytes: Uint8Array, hash: string) {
    this.bytes = bytes
    this.hash = hash
  }

  static async of (bytes: Uint8Array): Promise<HashedBytes> {
    return new HashedBytes(bytes, await entryHash(bytes))
  }
}

/**
 * Decodes an entry from the network or the blockstore, checks its shape, and
 * computes its hash from the bytes (so a hash always names what was received;
 * given `HashedBytes`, it was computed already).
 * Throws `Error` with the reason when the bytes are not an entry.
 */
export async function decodeEntry (input: Uint8Array | HashedBytes): Promise<StoredEntry> {
  const bytes = input instanceof HashedBytes ? input.bytes : input
  const value: unknown = dagCbor.decode(bytes)
  const shape = logEntrySchema.safeParse(value)
  if (!shape.success) throw new Error(`not a log entry: ${shape.error.issues[0]?.path.join('.') ?? ''} ${shape.error.issues[0]?.message ?? ''}`)
  return { ...(shape.data as LogEntry), hash: input instanceof HashedBytes ? input.hash : await entryHash(bytes), bytes }
}

/** What an entry's signature covers, exactly as OrbitDB's `Entry.create` and `Entry.verify` encode it. */
function signedPart (entry: Pick<LogEntry, 'id' | 'payload' | 'next' | 'refs' | 'clock' | 'v'>): Uint8Array {
  return dagCbor.encode({ id: entry.id, payload: entry.payload, next: entry.next, refs: entry.refs, clock: entry.clock, v: entry.v })
}

/**
 * Entry objects found signed, with the key they were checked against. A
 * relayed entry is checked by the relay before it is published, then the same
 * object is joined, whose check finds it here. Only a check that passed
 * writes here, and only for that object: an entry decoded again, or made
 * anywhere else, is verified.
 */
const signedBy = new WeakMap<LogEntry, string>()

/** True when `entry` is signed by `signingKeyHex` (and says so in `key`). */
export function isSignedBy (entry: LogEntry, signingKeyHex: string): boolean {
  if (entry.key !== signingKeyHex) return false
  if (signedBy.get(entry) === signingKeyHex) return true
  let signed: boolean
  try {
    signed = verifySignature(hexToBytes(signingKeyHex), signedPart(entry), hexToBytes(entry.sig))
  } catch {
    signed = false
  }
  if (signed) signedBy.set(entry, signingKeyHex)
  return signed
}

/** Makes and signs an entry as OrbitDB's `Entry.create` + `Entry.encode` would, byte for byte. */
export async function createEntry (signing: SigningKeyPair, fields: { id: string, payload: unknown, next: string[], refs: string[], time: number }): Promise<StoredEntry> {
  const key = bytesToHex(signing.publicKey)
  const unsigned = { id: fields.id, payload: fields.payload, next: fields.next, refs: fields.refs, clock: { id: key, time: fields.time }, v: 2 as const }
  const signed = signedPart(unsigned)
  const entry = { ...unsigned, key, identity: key, sig: bytesToHex(sign(signing, signed)) }
  const bytes = entryBytes(signed, entry)
  return { ...entry, hash: await entryHash(bytes), bytes }
}

/**
 * The entry's encoding, made from that of its signed part rather than
 * encoded again: canonical CBOR orders a map's keys by length, then bytes,
 * so the entry's map is the signed part's (`v`, `id`, `next`, `refs`,
 * `clock`, `payload`) with `key` and `sig` after `id`, and `identity` last.
 */
function entryBytes (signed: Uint8Array, entry: { id: string, key: string, sig: string, identity: string }): Uint8Array {
  // The signed part: its map's header, `v` and its value 2, `id` and its text.
  const idEnd = 1 + 3 + 3 + cborTextLength(utf8.encode(entry.id).length)
  return concatBytes(
    Uint8Array.of(0xa9), signed.subarray(1, idEnd),
    cborText('key'), cborText(entry.key), cborText('sig'), cborText(entry.sig),
    signed.subarray(idEnd), cborText('identity'), cborText(entry.identity)
  )
}

const utf8 = new TextEncoder()

/** Bytes CBOR takes for a text of `length` bytes: its header, then the bytes. */
function cborTextLength (length: number): number {
  return (length < 24 ? 1 : length < 256 ? 2 : length < 65_536 ? 3 : 5) + length
}

/** A text as CBOR encodes it (major type 3). */
function cborText (text: string): Uint8Array {
  const bytes = utf8.encode(text)
  const n = bytes.length
  const header = n < 24 ? [0x60 | n] : n < 256 ? [0x78, n] : n < 65_536 ? [0x79, n >>> 8, n & 0xff] : [0x7a, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]
  return concatBytes(Uint8Array.from(header), bytes)
}
