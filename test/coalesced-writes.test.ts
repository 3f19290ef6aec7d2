/**
 * The transport wrapper that gives each encrypted frame to the socket in one
 * write: two real libp2p nodes over TCP on 127.0.0.1 (Noise, Yamux) swap
 * length-prefixed messages, and the socket writes made meanwhile are counted.
 */
import net from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Libp2p, Transport } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { coalescedWrites } from '../src/protocol/coalesced-writes.ts'

const PROTOCOL = '/bertybot-test/echo/1.0.0'
const MESSAGES = 200

const nodes: Libp2p[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  await Promise.all(nodes.splice(0).map(async (node) => { await node.stop() }))
})

async function node (transport: (components: any) => Transport): Promise<Libp2p> {
  const created = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [transport],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false }
  })
  nodes.push(created)
  return created
}

/** Sends MESSAGES messages of 1 kB and reads each echo back; resolves with the socket writes made meanwhile (both sides: one process) and what came back. */
async function exchange (transport: () => (components: any) => Transport): Promise<{ writes: number, echoed: Uint8Array[] }> {
  const server = await node(transport())
  const client = await node(transport())
  await server.handle(PROTOCOL, async (stream) => {
    const lp = lpStream(stream)
    for (let i = 0; i < MESSAGES; i++) await lp.write(await lp.read())
  })
  const stream = await client.dialProtocol(server.getMultiaddrs()[0] as never, PROTOCOL)
  const lp = lpStream(stream)
  const write = vi.spyOn(net.Socket.prototype, 'write')
  const echoed: Uint8Array[] = []
  for (let i = 0; i < MESSAGES; i++) {
    await lp.write(new Uint8Array(1024).fill(i % 256))
    echoed.push((await lp.read()).subarray())
  }
  const writes = write.mock.calls.length
  write.mockRestore()
  return { writes, echoed }
}

describe('coalesced writes', () => {
  it('writes each frame to the socket in one call, and the bytes arrive unchanged', async () => {
    const coalesced = await exchange(() => coalescedWrites(tcp()))
    expect(coalesced.echoed).toHaveLength(MESSAGES)
    coalesced.echoed.forEach((bytes, i) => { expect(new Uint8Array(bytes)).toEqual(new Uint8Array(1024).fill(i % 256)) })
    // Each message: a data frame each way and a window update each way, at most: 4 writes.
    expect(coalesced.writes).toBeLessThanOrEqual(4 * MESSAGES + 10)

    // The same exchange over the bare transport writes each frame in two calls or more (its length, then the rest).
    const bare = await exchange(() => tcp())
    expect(bare.echoed).toHaveLength(MESSAGES)
    expect(bare.writes).toBeGreaterThanOrEqual(2 * coalesced.writes)
  })

  it('writes the frames of one turn of the event loop with one system call, and they all arrive in order', async () => {
    const burst = async (transport: () => (components: any) => Transport): Promise<{ flushes: number, received: Uint8Array[] }> => {
      const server = await node(transport())
      const client = await node(transport())
      const received = new Promise<Uint8Array[]>((resolve) => {
        void server.handle(PROTOCOL, async (stream) => {
          const lp = lpStream(stream)
          const got: Uint8Array[] = []
          for (let i = 0; i < MESSAGES; i++) got.push((await lp.read()).subarray())
          resolve(got)
        })
      })
      const stream = await client.dialProtocol(server.getMultiaddrs()[0] as never, PROTOCOL)
      // What reaches the kernel: one call of either for each flush of the socket's buffer.
      const single = vi.spyOn(net.Socket.prototype as any, '_write')
      const vector = vi.spyOn(net.Socket.prototype as any, '_writev')
      // All in one turn: each message a length prefix and its bytes, as lpStream frames it.
      for (let i = 0; i < MESSAGES; i++) stream.send(new Uint8Array([0x80, 0x08, ...new Uint8Array(1024).fill(i % 256)]))
      const got = await received
      const flushes = single.mock.calls.length + vector.mock.calls.length
      single.mockRestore()
      vector.mockRestore()
      return { flushes, received: got }
    }
    const corked = await burst(() => coalescedWrites(tcp()))
    expect(corked.received).toHaveLength(MESSAGES)
    corked.received.forEach((bytes, i) => { expect(new Uint8Array(bytes)).toEqual(new Uint8Array(1024).fill(i % 256)) })
    // The burst in a few writes (yamux holds back what its window does not take yet; the server's window updates come back in its own).
    expect(corked.flushes).toBeLessThanOrEqual(MESSAGES / 10)

    const bare = await burst(() => tcp())
    expect(bare.received).toHaveLength(MESSAGES)
    expect(bare.flushes).toBeGreaterThanOrEqual(MESSAGES)
  })
})
