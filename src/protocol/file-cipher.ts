/**
 * How a file is encrypted: with a fresh 32-byte key of its own, in segments
 * of `SEGMENT_SIZE` bytes, each sealed with XChaCha20-Poly1305 (the STREAM
 * construction of Hoang, Reyhanitabar, Rogaway and Vizár): a segment's nonce
 * is its index, so segments cannot be reordered, and the last one is flagged
 * in the associated data, so a file cut short at a segment boundary does not
 * open. Both directions stream: neither holds more than a segment or two.
 *
 * A key is never used for two files, so a nonce made of the index alone is
 * never used twice with one key. (The AEAD is `xchachaSession`: noble's
 * HChaCha20 once per file, Node's native ChaCha20-Poly1305 per segment.)
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { throwIfAborted } from './abort.ts'
import { concatBytes, uint64BE, utf8ToBytes, xchachaSession } from './crypto.ts'
import { FileReadError, FileTooLargeError, InvalidOptionError } from './errors.ts'

/** Plaintext bytes a segment holds (all but the last, which holds 0 to this many). */
export const SEGMENT_SIZE = 64 * 1024
/** What sealing adds to each segment: Poly1305's tag. */
const TAG_SIZE = 16
const SEALED_SEGMENT_SIZE = SEGMENT_SIZE + TAG_SIZE
const DOMAIN_FILE = utf8ToBytes('bertybot/file/v1')
const AD_MIDDLE = concatBytes(DOMAIN_FILE, new Uint8Array([0]))
const AD_LAST = concatBytes(DOMAIN_FILE, new Uint8Array([1]))

/** A segment's nonce is 16 zero bytes and its index: the XChaCha20 subkey is the same for all of a file's segments, made once. */
const NONCE_PREFIX = new Uint8Array(16)

/** The encrypted size of a file of `size` bytes: one tag per segment, and an empty file is one empty segment. */
export function sealedFileSize (size: number): number {
  return size + TAG_SIZE * Math.max(1, Math.ceil(size / SEGMENT_SIZE))
}

export interface SealingOptions {
  /** The most plaintext bytes taken: past it, `FileTooLargeError`. */
  maxSize: number
  /** The size the caller said the file has: more or fewer bytes is an error. */
  expectedSize?: number | undefined
  signal?: AbortSignal | undefined
  /** Called with the plaintext size once the source ended. */
  onEnd?: (size: number) => void
}

/** Encrypts `source` as it is read; sizes are checked as bytes come, so a source longer than it said is stopped there. */
export async function * sealFile (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, key: Uint8Array, options: SealingOptions): AsyncGenerator<Uint8Array> {
  const { maxSize, expectedSize, signal } = options
  const limit = Math.min(maxSize, expectedSize ?? Infinity)
  const pending = new Uint8ArrayList()
  const aead = xchachaSession(key, NONCE_PREFIX)
  let size = 0
  let index = 0
  for await (const chunk of source) {
    throwIfAborted(signal, 'storing the file')
    size += chunk.length
    if (size > limit) {
      throw size > maxSize
        ? new FileTooLargeError(maxSize, `the file is larger than ${maxSize} bytes, the most this peer takes`)
        : new FileTooLargeError(maxSize, `the file is larger than the ${expectedSize ?? 0} bytes it was said to be`)
    }
    pending.append(chunk)
    // A segment leaves only once a byte after it is known: the last one must be flagged as such.
    while (pending.length > SEGMENT_SIZE) {
      yield aead.seal(uint64BE(index++), pending.subarray(0, SEGMENT_SIZE), AD_MIDDLE)
      pending.consume(SEGMENT_SIZE)
    }
  }
  if (expectedSize !== undefined && size !== expectedSize) throw new InvalidOptionError(`the file ended after ${size} bytes; it was said to be ${expectedSize}`)
  yield aead.seal(uint64BE(index), pending.subarray(), AD_LAST)
  options.onEnd?.(size)
}

/**
 * Decrypts a file's encrypted bytes as they come, checking each segment;
 * throws `FileReadError` when the key is wrong, the file is cut short, a
 * segment was altered, or there are more bytes than `sealedSize`.
 */
export async function * openFile (source: AsyncIterable<Uint8Array>, key: Uint8Array, sealedSize: number): AsyncGenerator<Uint8Array> {
  const pending = new Uint8ArrayList()
  const aead = xchachaSession(key, NONCE_PREFIX)
  let received = 0
  let index = 0
  const open = (sealed: Uint8Array, last: boolean): Uint8Array => {
    const plain = aead.open(uint64BE(index), sealed, last ? AD_LAST : AD_MIDDLE)
    if (plain !== undefined) {
      index++
      return plain
    }
    // Sealed as a middle segment where the file ends: the rest of it was cut off.
    if (last && aead.open(uint64BE(index), sealed, AD_MIDDLE) !== undefined) throw new FileReadError('truncated', `the file ends after segment ${index}, which is not its last`)
    if (index === 0) throw new FileReadError('wrong-key', 'the file does not open with the key its message gives')
    throw new FileReadError('tampered', `segment ${index} of the file does not open: it was altered or is not this file's`)
  }
  for await (const chunk of source) {
    received += chunk.length
    if (received > sealedSize) throw new FileReadError('too-large', `the file holds more than the ${sealedSize} bytes its message says`)
    pending.append(chunk)
    while (pending.length > SEALED_SEGMENT_SIZE) {
      yield open(pending.subarray(0, SEALED_SEGMENT_SIZE), false)
      pending.consume(SEALED_SEGMENT_SIZE)
    }
  }
  if (received < sealedSize || pending.length < TAG_SIZE) throw new FileReadError('truncated', `the file ends after ${received} of its ${sealedSize} bytes`)
  yield open(pending.subarray(), true)
}
