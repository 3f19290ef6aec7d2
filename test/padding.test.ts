import { describe, expect, it } from 'vitest'
import { openSecretbox, signingKeyPairFromSeed } from '../src/protocol/crypto.ts'
import { decodeCbor, encodeCbor } from '../src/protocol/encoding.ts'
import { MetadataEventType, openMessageBody, openMessageHeaders, openMetadataEvent, payloadSentSchema, sealChainKeys, sealMessage, sealMetadataEvent } from '../src/protocol/envelope.ts'
import { cborBytesLength, openPadded, paddedSize, paddingFor, sealPadded } from '../src/protocol/padding.ts'
import { newSenderChain } from '../src/protocol/ratchet.ts'
import { z } from 'zod'

const fill = (byte: number): Uint8Array => new Uint8Array(32).fill(byte)
const isPaddedSize = (n: number): boolean => n >= 512 && (n <= 65_536 ? (n & (n - 1)) === 0 : n % 65_536 === 0)

describe('padded sizes', () => {
  it('are 512 bytes, the powers of two up to 64 KiB, then multiples of 64 KiB', () => {
    expect([1, 511, 512, 513, 1000, 1024, 1025, 40_000, 65_536, 65_537, 131_073, 196_608].map(paddedSize))
      .toEqual([512, 512, 512, 1024, 1024, 1024, 2048, 65_536, 65_536, 131_072, 196_608, 196_608])
    expect(paddedSize(196_609)).toBeUndefined()
  })

  it('are met exactly, or the next one where a length header steps over the first', () => {
    // A CBOR byte string's header grows from one byte to two at 24 bytes: 25 extra bytes cannot be made.
    const lengthWith = (padding: number): number => 487 + cborBytesLength(padding)
    expect(lengthWith(paddingFor(lengthWith))).toBe(1024)
    for (const base of [0, 100, 488, 511, 700, 5000, 70_000]) {
      const with_ = (padding: number): number => base + cborBytesLength(padding)
      const size = with_(paddingFor(with_))
      expect(isPaddedSize(size), `${base} padded to ${size}`).toBe(true)
      expect(size).toBeLessThanOrEqual(2 * Math.max(512, paddedSize(base + 1) ?? 0))
    }
  })

  it('seal any fields into a box of a padded size that opens to them, padding ignored', () => {
    const key = fill(3)
    const schema = z.object({ a: z.instanceof(Uint8Array) })
    const lengths: number[] = []
    for (let length = 0; length < 70_000; length += length < 2048 ? 1 : 997) lengths.push(length)
    // Padded to 192 KiB: more than 64 KiB of zeros, whose length takes four bytes.
    lengths.push(130_000)
    for (const length of lengths) {
      const a = new Uint8Array(length).fill(length % 251)
      const box = sealPadded(key, { a })
      expect(isPaddedSize(box.length), `${length} bytes sealed in ${box.length}`).toBe(true)
      const sealed = decodeCbor(box, z.object({ n: z.instanceof(Uint8Array), e: z.instanceof(Uint8Array) })) as { n: Uint8Array, e: Uint8Array }
      const opened = openPadded(key, sealed)
      if (!opened.ok) throw new Error(opened.detail)
      expect(schema.parse(opened.value).a).toEqual(a)
      // The padded map is the one CBOR makes of the fields and their zeros, byte for byte.
      const padding = z.object({ x: z.instanceof(Uint8Array) }).parse(opened.value).x
      expect(padding.every((byte) => byte === 0)).toBe(true)
      expect(openSecretbox(key, sealed.n, sealed.e)).toEqual(encodeCbor({ a, x: new Uint8Array(padding.length) }))
    }
  })
})

describe('entries sealed padded', () => {
  const secret = fill(7)
  const groupKey = fill(2)
  const device = signingKeyPairFromSeed(fill(9))

  it('are messages of a padded size whatever their length, and open as before', () => {
    for (const length of [0, 1, 50, 280, 300, 600, 1500, 9000, 32_000]) {
      const plaintext = encodeCbor({ type: 1, text: 'y'.repeat(length), sentAt: 1 })
      const sealed = sealMessage(secret, groupKey, device, 3, fill(11), plaintext)
      expect(isPaddedSize(sealed.length), `a message of ${length} characters sealed in ${sealed.length} bytes`).toBe(true)
      const headers = openMessageHeaders(secret, sealed)
      if (!headers.ok) throw new Error(headers.detail)
      expect(headers.headers.counter).toBe(3)
      const body = openMessageBody(groupKey, headers.headers, fill(11), headers.sealedBody)
      if (!body.ok) throw new Error(body.detail)
      expect(body.plaintext).toEqual(plaintext)
    }
  })

  it('hide in their size whether a message carries chain keys', () => {
    const plaintext = encodeCbor({ type: 1, text: 'hi', sentAt: 1 })
    const members = [fill(20), fill(21)].map((seed) => signingKeyPairFromSeed(seed).publicKey)
    const bare = sealMessage(secret, groupKey, device, 1, fill(11), plaintext)
    const withKeys = sealMessage(secret, groupKey, device, 1, fill(11), plaintext, sealChainKeys(device, members, groupKey, newSenderChain()))
    expect(withKeys.length).toBe(bare.length)
    const opened = openMessageHeaders(secret, withKeys)
    expect(opened.ok && opened.headers.chainKeys?.k.length).toBe(2)
  })

  it('are metadata events of a padded size, which open with the padding left out', () => {
    for (const length of [0, 10, 400, 3000]) {
      const sealed = sealMetadataEvent(secret, groupKey, device, MetadataEventType.PayloadSent, { m: new Uint8Array(length) })
      expect(isPaddedSize(sealed.length)).toBe(true)
      const opened = openMetadataEvent(secret, groupKey, sealed)
      if (!opened.ok) throw new Error(opened.detail)
      expect(decodeCbor(opened.event.body, payloadSentSchema)?.m).toHaveLength(length)
    }
  })

  it('do not open with another secret', () => {
    const sealed = sealMessage(secret, groupKey, device, 1, fill(11), encodeCbor({ type: 1, text: 'x', sentAt: 1 }))
    expect(openMessageHeaders(fill(8), sealed)).toMatchObject({ ok: false, reason: 'wrong-key' })
    expect(openMetadataEvent(fill(8), groupKey, sealMetadataEvent(secret, groupKey, device, MetadataEventType.PayloadSent, { m: new Uint8Array(1) }))).toMatchObject({ ok: false, reason: 'wrong-key' })
  })
})
