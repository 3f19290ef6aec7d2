/**
 * The sizes a log entry's sealed value is padded to, and the padded box both
 * logs seal their entries in: `{ n, e }`, e = secretbox(key, n, CBOR of the
 * fields and `x`, zeros), with as many zeros as bring the whole to one of the
 * sizes. Whoever holds a log without its secret learns from an entry's size
 * only which size it falls in; a receiver reads the fields and ignores `x`
 * (as an earlier build does: its schemas take no notice of a field they do
 * not name).
 *
 * The sizes: 512 bytes, then each power of two up to 64 KiB, then multiples
 * of 64 KiB. The smallest holds every small entry there is (a text of up to
 * about 300 bytes, a reaction, an acknowledgement, an edit of a short text, a
 * deletion, a button press, a name, a device announced to a few members), so
 * those all look alike; doubling keeps the cost under twice the bytes while
 * telling at most which of 8 sizes a value up to 64 KiB falls in; above it
 * (long texts with buttons, keys sealed to hundreds of members) steps of 64
 * KiB keep every entry within the 256 KiB that peers take.
 */
import { NONCE_SIZE, openSecretbox, randomBytes, sealSecretbox } from './crypto.ts'
import { dagCbor, encodeCbor } from './encoding.ts'

export const MIN_PADDED_SIZE = 512
const DOUBLING_UP_TO = 64 * 1024
/** Values that would need more than this are left as they are: no app message or metadata event comes near it. */
const MAX_PADDED_SIZE = 192 * 1024
/** Poly1305's tag, which secretbox adds to what it seals. */
const TAG_SIZE = 16

/** The padded size a value of `length` bytes is brought to, or `undefined` past the largest. */
export function paddedSize (length: number): number | undefined {
  if (length <= MIN_PADDED_SIZE) return MIN_PADDED_SIZE
  if (length <= DOUBLING_UP_TO) return 2 ** Math.ceil(Math.log2(length))
  const size = Math.ceil(length / DOUBLING_UP_TO) * DOUBLING_UP_TO
  return size <= MAX_PADDED_SIZE ? size : undefined
}

/** Bytes CBOR takes for a byte string of `length` bytes: its header, then the bytes. */
export function cborBytesLength (length: number): number {
  const header = length < 24 ? 1 : length < 256 ? 2 : length < 65_536 ? 3 : 5
  return header + length
}

/**
 * How many bytes of padding bring a value to a padded size, given its length
 * with `padding` bytes (`lengthWith`, which grows by one a byte, and by a byte
 * or two more where a length header grows). Where no padding lands exactly on
 * the smallest size that fits (a header's growth steps over it), the next size.
 */
export function paddingFor (lengthWith: (padding: number) => number): number {
  const base = lengthWith(0)
  let target = paddedSize(base)
  while (target !== undefined) {
    let padding = target - base
    for (let length = lengthWith(padding); length > target && padding > 0; length = lengthWith(padding)) {
      padding = Math.max(0, padding - (length - target))
    }
    if (lengthWith(padding) === target) return padding
    target = paddedSize(target + 1)
  }
  return 0
}

/** The length of `{ n, e }` whose `e` seals `plainLength` bytes. */
function boxLength (plainLength: number): number {
  // A map of two, each key one character: 1 + 2 + 2 bytes around the two byte strings.
  return 5 + cborBytesLength(NONCE_SIZE) + cborBytesLength(plainLength + TAG_SIZE)
}

/** Seals `fields` (a CBOR map, with `x` added) under `key` with a random nonce, padded to a padded size. */
export function sealPadded (key: Uint8Array, fields: Record<string, unknown>): Uint8Array {
  const bare = encodeCbor({ ...fields, x: new Uint8Array(0) })
  // `x` empty takes one byte; `padding` zeros take cborBytesLength(padding).
  const padding = paddingFor((n) => boxLength(bare.length - 1 + cborBytesLength(n)))
  const plain = padding === 0
    ? bare
    : xIsLast(fields) ? withPadding(bare, padding) : encodeCbor({ ...fields, x: new Uint8Array(padding) })
  const n = randomBytes(NONCE_SIZE)
  return encodeCbor({ n, e: sealSecretbox(key, n, plain) })
}

/** Whether `x` comes last in the map with `fields` (canonical CBOR orders keys by length, then bytes): the fields' keys are all letters before it. */
function xIsLast (fields: Record<string, unknown>): boolean {
  return Object.keys(fields).every((key) => key.length === 1 && key < 'x')
}

/**
 * The map `bare`, whose last key is `x` with no bytes, with `padding` zeros
 * in `x` instead: the bytes a second encoding would make, made from its bytes.
 */
function withPadding (bare: Uint8Array, padding: number): Uint8Array {
  const header = cborBytesLength(padding) - padding
  const padded = new Uint8Array(bare.length - 1 + header + padding)
  padded.set(bare.subarray(0, bare.length - 1))
  const at = bare.length - 1
  // A byte string's header (major type 2): the length in the first byte, or in the 1, 2 or 4 bytes after it.
  if (header === 1) padded[at] = 0x40 | padding
  else {
    padded[at] = 0x40 | (header === 2 ? 24 : header === 3 ? 25 : 26)
    for (let i = 1; i < header; i++) padded[at + i] = (padding >>> (8 * (header - 1 - i))) & 0xff
  }
  return padded
}

/** Opens what `sealPadded` sealed (or an unpadded box of an earlier build): the decoded map, padding and all, for its schema to check. */
export function openPadded (key: Uint8Array, box: { n: Uint8Array, e: Uint8Array }): { ok: true, value: unknown } | { ok: false, reason: 'malformed' | 'wrong-key', detail: string } {
  const plain = openSecretbox(key, box.n, box.e)
  if (plain === undefined) return { ok: false, reason: 'wrong-key', detail: 'not sealed with this group\'s secret' }
  try {
    return { ok: true, value: dagCbor.decode(plain) }
  } catch (err) {
    return { ok: false, reason: 'malformed', detail: `not CBOR: ${(err as Error).message}` }
  }
}
