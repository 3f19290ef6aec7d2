/**
 * The encryption of files (`file-cipher.ts`): fixed vectors (checked against
 * an independent XChaCha20-Poly1305, Python's `cryptography` ChaCha20-Poly1305
 * with HChaCha20 written out), the native AEAD against noble's, round trips across segment boundaries, and each
 * way a file can be damaged failing with its own reason.
 */
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { bytesToHex, sha256, xchachaSession } from '../src/protocol/crypto.ts'
import { FileReadError, FileTooLargeError, InvalidOptionError } from '../src/protocol/errors.ts'
import { openFile, sealedFileSize, sealFile, SEGMENT_SIZE } from '../src/protocol/file-cipher.ts'

const key = new Uint8Array(32).map((_, i) => i)

async function collect (source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const chunk of source) chunks.push(chunk)
  return new Uint8Array(Buffer.concat(chunks))
}

async function sealed (plaintext: Uint8Array, withKey = key): Promise<Uint8Array> {
  return await collect(sealFile([plaintext], withKey, { maxSize: 1 << 30 }))
}

/** Yields `bytes` in pieces of `size`, as a network would. */
async function * pieces (bytes: Uint8Array, size = 10_000): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
}

async function readError (bytes: Uint8Array, withKey: Uint8Array, sealedSize: number): Promise<FileReadError> {
  const err = await collect(openFile(pieces(bytes), withKey, sealedSize)).then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(FileReadError)
  return err as FileReadError
}

describe('file encryption', () => {
  it('seals as the fixed vectors say: one short segment, an empty file, two segments', async () => {
    expect(bytesToHex(await sealed(new TextEncoder().encode('bertybot file vector')))).toBe('f763feb395ea8a6d36e816558936488f5fc8c2e1fa74d0b809794e4d7bb0545e143a6b9b')
    expect(bytesToHex(await sealed(new Uint8Array(0)))).toBe('c2536a072f10521004971e6c9f9ca2a5')
    const twoSegments = await sealed(new Uint8Array(SEGMENT_SIZE + 1).map((_, i) => i % 251))
    expect(twoSegments.length).toBe(65569)
    expect(bytesToHex(sha256(twoSegments))).toBe('cf93d15ce0f58eb81aabdcc58dba56a07118c5ba9a6a6e4ca70347c6ade1669d')
  })

  it('seals each segment as noble\'s XChaCha20-Poly1305 does, for any key, nonce and data', () => {
    for (let i = 0; i < 20; i++) {
      const [k, prefix, tail, data, ad] = [randomBytes(32), randomBytes(16), randomBytes(8), randomBytes(i * 997), randomBytes(i)]
      const session = xchachaSession(k, prefix)
      const expected = xchacha20poly1305(k, Buffer.concat([prefix, tail]), ad).encrypt(data)
      expect(Buffer.from(session.seal(tail, data, ad)).equals(Buffer.from(expected))).toBe(true)
      expect(Buffer.from(session.open(tail, expected, ad) as Uint8Array).equals(data)).toBe(true)
      expect(session.open(tail, expected, randomBytes(3))).toBeUndefined()
    }
  })

  it('opens what it sealed, whatever the size and however the bytes arrive', async () => {
    for (const size of [0, 1, SEGMENT_SIZE - 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 3 * SEGMENT_SIZE, 3 * SEGMENT_SIZE + 777]) {
      const plaintext = randomBytes(size)
      const fileKey = randomBytes(32)
      const encrypted = await sealed(plaintext, fileKey)
      expect(encrypted.length).toBe(sealedFileSize(size))
      for (const piece of [1_000, SEGMENT_SIZE + 16, 1 << 20]) {
        expect(Buffer.from(await collect(openFile(pieces(encrypted, piece), fileKey, encrypted.length))).equals(plaintext)).toBe(true)
      }
    }
  })

  it('stops a source past the size limit, or past the size it was said to have, and one that ends short of it', async () => {
    await expect(collect(sealFile([randomBytes(400), randomBytes(601)], key, { maxSize: 1000 }))).rejects.toBeInstanceOf(FileTooLargeError)
    await expect(collect(sealFile([randomBytes(600), randomBytes(600)], key, { maxSize: 10_000, expectedSize: 1000 }))).rejects.toThrow(/larger than the 1000 bytes it was said to be/)
    await expect(collect(sealFile([randomBytes(600)], key, { maxSize: 10_000, expectedSize: 1000 }))).rejects.toBeInstanceOf(InvalidOptionError)
  })

  it('refuses a wrong key, a file cut at a segment boundary or inside one, reordered or altered segments, and extra bytes', async () => {
    const plaintext = randomBytes(3 * SEGMENT_SIZE + 5)
    const encrypted = await sealed(plaintext)
    const whole = SEGMENT_SIZE + 16
    expect((await readError(encrypted, randomBytes(32), encrypted.length)).reason).toBe('wrong-key')

    // Cut after two whole segments, the size adjusted to match: the second is not flagged last.
    const cut = encrypted.subarray(0, 2 * whole)
    expect((await readError(cut, key, cut.length)).reason).toBe('truncated')
    // Fewer bytes than its size says.
    expect((await readError(encrypted.subarray(0, encrypted.length - 3), key, encrypted.length)).reason).toBe('truncated')

    const swapped = new Uint8Array(encrypted)
    swapped.set(encrypted.subarray(whole, 2 * whole), 0)
    swapped.set(encrypted.subarray(0, whole), whole)
    expect((await readError(swapped, key, encrypted.length)).reason).toBe('wrong-key')
    const reordered = new Uint8Array(encrypted)
    reordered.set(encrypted.subarray(2 * whole, 3 * whole), whole)
    reordered.set(encrypted.subarray(whole, 2 * whole), 2 * whole)
    expect((await readError(reordered, key, encrypted.length)).reason).toBe('tampered')

    const flipped = new Uint8Array(encrypted)
    flipped[whole + 100] = (flipped[whole + 100] as number) ^ 1
    const tampered = await readError(flipped, key, encrypted.length)
    expect(tampered.reason).toBe('tampered')
    expect(tampered.code).toBe('ERR_FILE_TAMPERED')

    const longer = new Uint8Array(Buffer.concat([encrypted, randomBytes(32)]))
    expect((await readError(longer, key, encrypted.length)).reason).toBe('too-large')
  })
})
