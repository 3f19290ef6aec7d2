/**
 * What the peer changes in libp2p's own parts: the peer store spared writes
 * that change nothing, and loggers that cost nothing when DEBUG is off.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { disable, enable } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { MemoryDatastore } from 'datastore-core'
import type { Key } from 'interface-datastore'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { libp2pLogger } from '../src/protocol/libp2p-logger.ts'
import { skipKnownProtocolMerges } from '../src/protocol/peer-store-protocols.ts'

/** A datastore that counts the peer store's writes. */
class CountingDatastore extends MemoryDatastore {
  peerWrites = 0
  override put (key: Key, value: Uint8Array): Key | Promise<Key> {
    if (key.toString().startsWith('/peers/')) this.peerWrites++
    return super.put(key, value)
  }
}

describe('the peer store', () => {
  it('is written when a connected peer is seen speaking a protocol it was not known to, and not again for one it was', async () => {
    const datastore = new CountingDatastore()
    const node = (store?: CountingDatastore): Parameters<typeof createLibp2p>[0] => ({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() },
      ...(store === undefined ? {} : { datastore: store })
    })
    const [libp2p, remote] = [await createLibp2p(node(datastore)), await createLibp2p(node())]
    try {
      skipKnownProtocolMerges(libp2p)
      const other = remote.peerId
      // Connected, and identified (identify writes the peer's record itself): from here on only our merges write.
      const identified = new Promise<void>((resolve) => {
        libp2p.addEventListener('peer:identify', (event) => { if (event.detail.peerId.equals(other)) resolve() })
      })
      await libp2p.dial(remote.getMultiaddrs()[0]!)
      await identified
      const writes = async (change: () => Promise<unknown>): Promise<number> => {
        const before = datastore.peerWrites
        await change()
        return datastore.peerWrites - before
      }

      expect(await writes(async () => await libp2p.peerStore.merge(other, { protocols: ['/a/1'] }))).toBe(1)
      expect(await writes(async () => await libp2p.peerStore.merge(other, { protocols: ['/a/1'] }))).toBe(0)
      expect(await writes(async () => await libp2p.peerStore.merge(other, { protocols: ['/b/1'] }))).toBe(1)
      expect((await libp2p.peerStore.get(other)).protocols).toEqual(expect.arrayContaining(['/a/1', '/b/1']))
      // Anything besides protocols goes through.
      expect(await writes(async () => await libp2p.peerStore.merge(other, { protocols: ['/a/1'], metadata: { seen: new Uint8Array([1]) } }))).toBe(1)
      // Identify replaces a peer's protocols: one it no longer lists is written again when seen.
      await libp2p.peerStore.patch(other, { protocols: ['/c/1'] })
      expect(await writes(async () => await libp2p.peerStore.merge(other, { protocols: ['/a/1'] }))).toBe(1)
      expect((await libp2p.peerStore.get(other)).protocols.sort()).toEqual(['/a/1', '/c/1'])

      // A peer not connected is not remembered: each of its merges goes through.
      const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
      expect(await writes(async () => await libp2p.peerStore.merge(stranger, { protocols: ['/a/1'] }))).toBe(1)
      expect(await writes(async () => await libp2p.peerStore.merge(stranger, { protocols: ['/a/1'] }))).toBe(1)
      // Nor is one that went away.
      await libp2p.hangUp(other)
      expect(await writes(async () => await libp2p.peerStore.merge(other, { protocols: ['/a/1'] }))).toBe(1)
    } finally {
      await libp2p.stop()
      await remote.stop()
    }
  })
})

describe('libp2p\'s loggers', () => {
  afterEach(() => { disable() })

  it('do nothing, scopes and all, for the namespaces DEBUG leaves off, and log for those it turns on', () => {
    disable()
    const quiet = libp2pLogger().forComponent('libp2p:test-component')
    expect(quiet.enabled).toBe(false)
    expect(quiet.newScope('stream').enabled).toBe(false)
    expect(() => { quiet('a message %s', 'with an argument'); quiet.error('an error'); quiet.trace('a trace') }).not.toThrow()

    enable('libp2p:test-component*')
    const loud = libp2pLogger().forComponent('libp2p:test-component')
    expect(loud.enabled).toBe(true)
    expect(loud.newScope('stream').enabled).toBe(true)
    expect(libp2pLogger().forComponent('libp2p:another').enabled).toBe(false)
  })
})
