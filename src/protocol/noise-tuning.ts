/**
 * Noise (@chainsafe/libp2p-noise) as it is, less two costs it has at every
 * frame, which a peer in a big group pays tens of thousands of times a
 * minute (together 7–9% of such a peer's CPU in the groups benchmark):
 *
 * - Splitting what arrives into frames: its decoder reads each frame's
 *   two-byte length, and learns that no whole frame is left by catching the
 *   RangeError the reader throws, a new one each time, with its stack
 *   captured. That happens once for every chunk the socket delivers. Here the
 *   reader throws one RangeError made once.
 * - Sealing and opening a frame of 1 200 bytes or more (smaller ones go to
 *   its WebAssembly ChaCha20-Poly1305, which is faster there): it hands
 *   node:crypto the raw key for every frame, which makes a key object of it
 *   each time. Here the key object is made once per key and kept beside it.
 *
 * What goes on the wire is byte for byte the same: this changes no
 * protocol, only how the same bytes are computed.
 */
import { noise, type NoiseInit } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import type { ConnectionEncrypter } from '@libp2p/interface'
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto'
import { Uint8ArrayList } from 'uint8arraylist'

type Noise = ReturnType<typeof noise>
type NoiseComponents = Parameters<Noise>[0]
type NoiseCrypto = NonNullable<NoiseInit['crypto']>

/** Below this, the WebAssembly implementation is faster than node:crypto (Noise's own threshold). */
const NATIVE_FROM_BYTES = 1200
const TAG_BYTES = 16
const CHACHA = 'chacha20-poly1305'

/** `noise()`, with the costs above removed. */
export function tunedNoise (init: NoiseInit = {}): (components: NoiseComponents) => ConnectionEncrypter {
  const factory = noise({ ...init, crypto: keyedCrypto })
  return (components) => {
    const encrypter = factory(components)
    const secureInbound = encrypter.secureInbound.bind(encrypter)
    const secureOutbound = encrypter.secureOutbound.bind(encrypter)
    encrypter.secureInbound = async (...args) => withCheapFrameReader(await secureInbound(...args))
    encrypter.secureOutbound = async (...args) => withCheapFrameReader(await secureOutbound(...args))
    return encrypter
  }
}

/** Thrown, always the same, when fewer than two bytes are there to read a frame's length from. */
const NO_LENGTH_YET = new RangeError('Could not decode int16BE')

function readFrameLength (data: Uint8Array | Uint8ArrayList): number {
  if (data.length < 2) throw NO_LENGTH_YET
  return data instanceof Uint8Array ? (data[0] as number) << 8 | (data[1] as number) : data.getUint16(0)
}

/** The part of Noise's encrypted connection that splits what arrives into frames. */
interface FrameDecoder { lengthDecoder: (data: Uint8Array | Uint8ArrayList) => number }

function withCheapFrameReader<Secured extends { connection: unknown }> (secured: Secured): Secured {
  const decoder = (secured.connection as { decoder?: Partial<FrameDecoder> }).decoder
  // Not the decoder described above (another version of Noise): left as it is.
  if (typeof decoder?.lengthDecoder === 'function') decoder.lengthDecoder = readFrameLength
  return secured
}

/** Each key Noise uses, and the key object made of it (checked against its bytes, which Noise never changes in place). */
const keyObjects = new WeakMap<Uint8Array, { bytes: Uint8Array, key: KeyObject }>()

function keyObject (k: Uint8Array): KeyObject {
  const kept = keyObjects.get(k)
  if (kept !== undefined && Buffer.compare(kept.bytes, k) === 0) return kept.key
  const key = createSecretKey(k)
  keyObjects.set(k, { bytes: Uint8Array.from(k), key })
  return key
}

/** Noise's own crypto, but for the key objects kept (exported for its test, which compares it with Noise's). */
export const keyedCrypto: NoiseCrypto = {
  ...defaultCrypto,
  chaCha20Poly1305Encrypt (plaintext, nonce, ad, k) {
    if (plaintext.byteLength < NATIVE_FROM_BYTES) return defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)
    const cipher = createCipheriv(CHACHA, keyObject(k), nonce, { authTagLength: TAG_BYTES })
    cipher.setAAD(ad, { plaintextLength: plaintext.byteLength })
    const output = new Uint8ArrayList()
    for (const part of plaintext instanceof Uint8Array ? [plaintext] : plaintext) output.append(cipher.update(part))
    const final = cipher.final()
    if (final.byteLength > 0) output.append(final)
    output.append(cipher.getAuthTag())
    return plaintext instanceof Uint8Array ? output.subarray() : output
  },
  chaCha20Poly1305Decrypt (ciphertext, nonce, ad, k, dst) {
    if (ciphertext.byteLength < NATIVE_FROM_BYTES) return defaultCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst)
    const end = ciphertext.byteLength - TAG_BYTES
    const decipher = createDecipheriv(CHACHA, keyObject(k), nonce, { authTagLength: TAG_BYTES })
    decipher.setAAD(ad, { plaintextLength: end })
    decipher.setAuthTag(ciphertext.subarray(end))
    const text = ciphertext instanceof Uint8Array ? ciphertext.subarray(0, end) : ciphertext.sublist(0, end)
    const output = new Uint8ArrayList()
    for (const part of text instanceof Uint8Array ? [text] : text) output.append(decipher.update(part))
    // Throws when the tag does not match: Noise then closes the connection.
    const final = decipher.final()
    if (final.byteLength > 0) output.append(final)
    return ciphertext instanceof Uint8Array ? output.subarray() : output
  }
}
