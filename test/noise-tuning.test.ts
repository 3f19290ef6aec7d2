/**
 * Noise with the two per-frame costs removed (`noise-tuning.ts`): the same
 * bytes as Noise's own crypto, frames that a stock Noise peer reads and
 * writes, and no error made for each chunk that arrives. Two real libp2p
 * nodes over TCP on 127.0.0.1.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { ConnectionEncrypter, Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { createLibp2p } from 'libp2p'
import { randomBytes } from 'node:crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { afterEach, describe, expect, it } from 'vitest'
import { keyedCrypto, tunedNoise } from '../src/protocol/noise-tuning.ts'

const PROTOCOL = '/bertybot-test/echo/1.0.0'
const SIZES = [10, 1199, 1200, 5000, 65_000, 200_000]

const nodes: Libp2p[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map(async (node) => { await node.stop() }))
})

async function node (encrypter: (components: any) => ConnectionEncrypter): Promise<Libp2p> {
  const created = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [encrypter],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false }
  })
  nodes.push(created)
  return created
}

/** `client` sends a message of each size in SIZES to `server`, which echoes it; resolves with what came back. */
async function echo (server: Libp2p, client: Libp2p): Promise<Uint8Array[]> {
  await server.handle(PROTOCOL, async (stream) => {
    const lp = lpStream(stream, { maxDataLength: 1_000_000 })
    for (let i = 0; i < SIZES.length; i++) await lp.write(await lp.read())
  })
  const lp = lpStream(await client.dialProtocol(server.getMultiaddrs()[0] as never, PROTOCOL), { maxDataLength: 1_000_000 })
  const echoed: Uint8Array[] = []
  for (const size of SIZES) {
    await lp.write(new Uint8Array(size).fill(size % 251))
    echoed.push((await lp.read()).subarray())
  }
  return echoed
}

/**
 * Runs `fn` counting the RangeErrors Noise's frame reader made meanwhile
 * (stock Noise makes one for each chunk that holds no further frame; the
 * handshake's reader and other framings are not what is counted).
 */
async function countingFrameReaderErrors (fn: () => Promise<void>): Promise<number> {
  const original = globalThis.RangeError
  let made = 0
  const count = (): void => {
    const stack = new Error().stack ?? ''
    if (stack.includes('libp2p-noise/dist/src/encoder.js') && stack.includes('LengthPrefixedDecoder')) made++
  }
  globalThis.RangeError = new Proxy(original, {
    apply: (target, self, args) => { count(); return Reflect.apply(target, self, args) },
    construct: (target, args, newTarget) => { count(); return Reflect.construct(target, args, newTarget) }
  })
  try {
    await fn()
  } finally {
    globalThis.RangeError = original
  }
  return made
}

describe('tuned noise', () => {
  it('seals and opens each frame as Noise\'s own crypto does, and refuses one tampered with', () => {
    const k = new Uint8Array(randomBytes(32))
    const nonce = new Uint8Array(12)
    nonce[4] = 7
    const ad = new Uint8Array([1, 2, 3])
    for (const size of [0, 100, 1199, 1200, 4000, 65_519]) {
      const plaintext = new Uint8Array(randomBytes(size))
      const sealed = keyedCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)
      expect(new Uint8Array(sealed.subarray())).toEqual(new Uint8Array(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k).subarray()))
      // The same in parts, as Noise hands over a frame made of several buffers.
      const parts = new Uint8ArrayList(plaintext.subarray(0, size >> 1), plaintext.subarray(size >> 1))
      expect(new Uint8Array(keyedCrypto.chaCha20Poly1305Encrypt(parts, nonce, ad, k).subarray())).toEqual(new Uint8Array(sealed.subarray()))
      expect(new Uint8Array(keyedCrypto.chaCha20Poly1305Decrypt(sealed.subarray(), nonce, ad, k).subarray())).toEqual(plaintext)
      const tampered = new Uint8Array(sealed.subarray())
      tampered[0] = (tampered[0] as number) ^ 1
      expect(() => keyedCrypto.chaCha20Poly1305Decrypt(tampered, nonce, ad, k)).toThrow()
    }
    // Another key with the same bytes' place: the key object follows the bytes.
    const other = new Uint8Array(randomBytes(32))
    const plaintext = new Uint8Array(2000).fill(9)
    expect(new Uint8Array(keyedCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, other).subarray()))
      .toEqual(new Uint8Array(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, other).subarray()))
    k.set(other)
    expect(new Uint8Array(keyedCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k).subarray()))
      .toEqual(new Uint8Array(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, other).subarray()))
  })

  it('talks with stock Noise both ways, frames of every size arriving whole', async () => {
    const expected = SIZES.map((size) => new Uint8Array(size).fill(size % 251))
    expect((await echo(await node(noise()), await node(tunedNoise()))).map((b) => new Uint8Array(b))).toEqual(expected)
    expect((await echo(await node(tunedNoise()), await node(noise()))).map((b) => new Uint8Array(b))).toEqual(expected)
  })

  it('reads what arrives without making an error for each chunk', async () => {
    const stock = await countingFrameReaderErrors(async () => { await echo(await node(noise()), await node(noise())) })
    const tuned = await countingFrameReaderErrors(async () => { await echo(await node(tunedNoise()), await node(tunedNoise())) })
    // Stock Noise makes one for each chunk a socket delivered: at least one for each message each way.
    expect(stock).toBeGreaterThanOrEqual(2 * SIZES.length)
    // Tuned, at most one at each end: the first chunk, read as Noise hands the connection over, before the reader is replaced.
    expect(tuned).toBeLessThanOrEqual(2)
  })
})
