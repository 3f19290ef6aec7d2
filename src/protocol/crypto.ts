/**
 * The primitives the protocol is built from, all from audited libraries:
 * @noble/curves (Ed25519, X25519), @noble/hashes (HKDF, HMAC, SHA-2/3),
 * @noble/ciphers (XSalsa20-Poly1305 = NaCl secretbox, XChaCha20-Poly1305).
 * Ed25519 signing and verification use Node's native implementation
 * (Ed25519 is deterministic: the signatures are the ones noble would make, as
 * the test vectors check). They are on every message's path, twice on each
 * side (device and group signatures): native is 5-10x faster here, and the
 * native key objects are made once per key, not once per signature (making
 * one costs about as much as the signature). X25519 agreement is native too
 * (about 25x faster than noble's: a member's first message in a group of 100
 * seals its chain key to 99 others: 120 ms with noble, 8 ms native).
 */
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, sign as nativeSign, verify as nativeVerify, type KeyObject } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { hchacha, xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { secretbox } from '@noble/ciphers/salsa.js'
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { sha3_256 } from '@noble/hashes/sha3.js'
import { bytesToHex, concatBytes, hexToBytes, randomBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { equalBytes } from '@noble/ciphers/utils.js'

/** Wesh `cryptoutil.KeySize`. */
export const KEY_SIZE = 32
/** Wesh `cryptoutil.NonceSize` (XSalsa20 and XChaCha20 both take 24-byte nonces). */
export const NONCE_SIZE = 24
export const SIGNATURE_SIZE = 64

export { bytesToHex, concatBytes, equalBytes, hexToBytes, randomBytes, sha256, utf8ToBytes }

/** An Ed25519 key pair; `seed` is the 32-byte private key. */
export interface SigningKeyPair {
  readonly seed: Uint8Array
  readonly publicKey: Uint8Array
}

export function generateSigningKeyPair (): SigningKeyPair {
  return signingKeyPairFromSeed(randomBytes(KEY_SIZE))
}

export function signingKeyPairFromSeed (seed: Uint8Array): SigningKeyPair {
  if (seed.length !== KEY_SIZE) throw new TypeError(`an Ed25519 seed is ${KEY_SIZE} bytes`)
  return { seed, publicKey: ed25519.getPublicKey(seed) }
}

// DER framings of a raw Ed25519 key (RFC 8410): PKCS #8 for a seed, SPKI for a public key.
const PKCS8_ED25519_PREFIX = hexToBytes('302e020100300506032b657004220420')
const SPKI_ED25519_PREFIX = hexToBytes('302a300506032b6570032100')

const privateKeys = new WeakMap<SigningKeyPair, KeyObject>()
/** Public keys verified against recently: a group's signing key, its members' devices. */
const publicKeys = new LRUCache<string, KeyObject>({ max: 4096 })

export function sign (key: SigningKeyPair, message: Uint8Array): Uint8Array {
  let native = privateKeys.get(key)
  if (native === undefined) {
    native = createPrivateKey({ key: Buffer.from(concatBytes(PKCS8_ED25519_PREFIX, key.seed)), format: 'der', type: 'pkcs8' })
    privateKeys.set(key, native)
  }
  return new Uint8Array(nativeSign(null, message, native))
}

/** True when `signature` is `publicKey`'s Ed25519 signature of `message`; false for any malformed input. */
export function verifySignature (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== KEY_SIZE || signature.length !== SIGNATURE_SIZE) return false
  try {
    const native = cachedKeyObject(publicKeys, publicKey, (der) => createPublicKey({ key: der, format: 'der', type: 'spki' }), SPKI_ED25519_PREFIX)
    return nativeVerify(null, message, native, signature)
  } catch {
    return false
  }
}

/** Ed25519 public key to X25519, as Wesh does for agreement (`EdwardsToMontgomery`). */
export function toX25519PublicKey (ed25519PublicKey: Uint8Array): Uint8Array {
  const id = bytesToHex(ed25519PublicKey)
  let converted = montgomeryKeys.get(id)
  if (converted === undefined) {
    converted = ed25519.utils.toMontgomery(ed25519PublicKey)
    montgomeryKeys.set(id, converted)
  }
  return converted.slice()
}

/** Members' keys converted recently (a point decompression each: 0.1 ms, once per member rather than per agreement). */
const montgomeryKeys = new LRUCache<string, Uint8Array>({ max: 4096 })

/** Ed25519 seed to X25519 private key: SHA-512 of the seed, clamped (Wesh `cryptoutil`). */
export function toX25519SecretKey (ed25519Seed: Uint8Array): Uint8Array {
  return ed25519.utils.toMontgomerySecret(ed25519Seed)
}

// DER framings of raw X25519 keys (RFC 8410), as for Ed25519 above.
const PKCS8_X25519_PREFIX = hexToBytes('302e020100300506032b656e04220420')
const SPKI_X25519_PREFIX = hexToBytes('302a300506032b656e032100')

/**
 * X25519 (RFC 7748): the same bytes as noble's `x25519.getSharedSecret`, and
 * like it throws on a key of the wrong length or a low-order public key (an
 * all-zero secret).
 */
export function x25519Agreement (secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (secretKey.length !== KEY_SIZE || publicKey.length !== KEY_SIZE) throw new TypeError(`X25519 keys are ${KEY_SIZE} bytes`)
  const shared = new Uint8Array(diffieHellman({
    privateKey: cachedKeyObject(x25519PrivateKeys, secretKey, (der) => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), PKCS8_X25519_PREFIX),
    publicKey: cachedKeyObject(x25519PublicKeys, publicKey, (der) => createPublicKey({ key: der, format: 'der', type: 'spki' }), SPKI_X25519_PREFIX)
  }))
  if (shared.every((byte) => byte === 0)) throw new Error('X25519 agreement with a low-order public key')
  return shared
}

// Our own keys and the members' recur in every agreement; parsing a key costs more than the agreement.
const x25519PrivateKeys = new LRUCache<string, KeyObject>({ max: 256 })
const x25519PublicKeys = new LRUCache<string, KeyObject>({ max: 4096 })

function cachedKeyObject (cache: LRUCache<string, KeyObject>, raw: Uint8Array, make: (der: Buffer) => KeyObject, prefix: Uint8Array): KeyObject {
  const id = bytesToHex(raw)
  let key = cache.get(id)
  if (key === undefined) {
    key = make(Buffer.from(concatBytes(prefix, raw)))
    cache.set(id, key)
  }
  return key
}

export function hkdfSha256 (ikm: Uint8Array, salt: Uint8Array | undefined, info: Uint8Array | undefined, length: number): Uint8Array {
  return hkdf(sha256, ikm, salt, info, length)
}

export function hkdfSha3 (ikm: Uint8Array, salt: Uint8Array | undefined, info: Uint8Array | undefined, length: number): Uint8Array {
  return hkdf(sha3_256, ikm, salt, info, length)
}

export function hmacSha256 (key: Uint8Array, message: Uint8Array): Uint8Array {
  return hmac(sha256, key, message)
}

export function generateX25519KeyPair (): { secretKey: Uint8Array, publicKey: Uint8Array } {
  const secretKey = x25519.utils.randomSecretKey()
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) }
}

/** NaCl secretbox (XSalsa20-Poly1305), as Wesh seals envelopes and message bodies. */
export function sealSecretbox (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return secretbox(key, nonce).seal(plaintext)
}

/** Opens a secretbox; `undefined` when the key is wrong or the box was altered. */
export function openSecretbox (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  if (key.length !== KEY_SIZE || nonce.length !== NONCE_SIZE) return undefined
  try {
    return secretbox(key, nonce).open(sealed)
  } catch {
    return undefined
  }
}

/**
 * XChaCha20-Poly1305 with a random nonce, for constructions that are ours
 * (not Wesh's). Output: nonce ‖ ciphertext ‖ tag.
 */
export function sealAead (key: Uint8Array, plaintext: Uint8Array, associatedData?: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_SIZE)
  const sealed = xchacha20poly1305(key, nonce, associatedData).encrypt(plaintext)
  return concatBytes(nonce, sealed)
}

/** XChaCha20-Poly1305 under a nonce the caller makes unique for `key`. Output: ciphertext ‖ tag. */
export function sealAeadWithNonce (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, associatedData?: Uint8Array): Uint8Array {
  return xchacha20poly1305(key, nonce, associatedData).encrypt(plaintext)
}

export function openAeadWithNonce (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, associatedData?: Uint8Array): Uint8Array | undefined {
  if (key.length !== KEY_SIZE || nonce.length !== NONCE_SIZE || sealed.length < 16) return undefined
  try {
    return xchacha20poly1305(key, nonce, associatedData).decrypt(sealed)
  } catch {
    return undefined
  }
}

export function openAead (key: Uint8Array, sealed: Uint8Array, associatedData?: Uint8Array): Uint8Array | undefined {
  if (key.length !== KEY_SIZE || sealed.length < NONCE_SIZE + 16) return undefined
  try {
    return xchacha20poly1305(key, sealed.subarray(0, NONCE_SIZE), associatedData).decrypt(sealed.subarray(NONCE_SIZE))
  } catch {
    return undefined
  }
}

export function uint64BE (value: bigint | number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(value))
  return out
}


/** ChaCha20's constant, "expand 32-byte k", as little-endian words. */
const CHACHA_SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574])

function littleEndianWords (bytes: Uint8Array): Uint32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return Uint32Array.from({ length: bytes.length / 4 }, (_, i) => view.getUint32(4 * i, true))
}

/** An XChaCha20-Poly1305 key for many messages whose nonces share their first 16 bytes. */
export interface XChaChaSession {
  /** Seals with the nonce `prefix ‖ tail` (`tail`: 8 bytes). */
  seal: (tail: Uint8Array, plaintext: Uint8Array, associatedData: Uint8Array) => Uint8Array
  /** Opens what `seal` made; undefined when it does not authenticate. */
  open: (tail: Uint8Array, sealed: Uint8Array, associatedData: Uint8Array) => Uint8Array | undefined
}

/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) split in its two steps: the
 * HChaCha20 subkey of the key and the nonce's first 16 bytes, noble's, made
 * once; then each message sealed with Node's native ChaCha20-Poly1305 (RFC
 * 8439) under that subkey and `0⁴ ‖ tail`. The bytes are noble's
 * `xchacha20poly1305`'s (the file vectors check it), four times as fast on a
 * file's many segments.
 */
export function xchachaSession (key: Uint8Array, prefix: Uint8Array): XChaChaSession {
  if (key.length !== KEY_SIZE || prefix.length !== 16) throw new TypeError('XChaCha20 takes a 32-byte key and a 16-byte nonce prefix')
  const words = new Uint32Array(8)
  hchacha(CHACHA_SIGMA, littleEndianWords(key), littleEndianWords(prefix), words)
  const subkey = new Uint8Array(KEY_SIZE)
  const out = new DataView(subkey.buffer)
  words.forEach((word, i) => { out.setUint32(4 * i, word, true) })
  const nonce = (tail: Uint8Array): Buffer => Buffer.concat([Buffer.alloc(4), tail])
  return {
    seal: (tail, plaintext, associatedData) => {
      const cipher = createCipheriv('chacha20-poly1305', subkey, nonce(tail), { authTagLength: 16 })
      cipher.setAAD(associatedData, { plaintextLength: plaintext.length })
      return new Uint8Array(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]))
    },
    open: (tail, sealed, associatedData) => {
      if (sealed.length < 16) return undefined
      const decipher = createDecipheriv('chacha20-poly1305', subkey, nonce(tail), { authTagLength: 16 })
      decipher.setAuthTag(sealed.subarray(sealed.length - 16))
      decipher.setAAD(associatedData, { plaintextLength: sealed.length - 16 })
      try {
        return new Uint8Array(Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]))
      } catch {
        return undefined
      }
    }
  }
}
