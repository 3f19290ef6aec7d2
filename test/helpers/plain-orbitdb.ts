/**
 * A plain OrbitDB peer: stock @orbitdb/core on Helia and libp2p, none of
 * bertybot's peer code. It stands for anyone who replicates our logs with
 * off-the-shelf tools, friendly or not.
 */
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { withBitswap } from '@helia/bitswap'
import { withLibp2pLight } from '@helia/libp2p'
import * as dagCbor from '@ipld/dag-cbor'
import { gossipsub, type GossipSub, type GossipsubOpts } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { createOrbitDB, type OrbitDB } from '@orbitdb/core'
import { LevelBlockstore } from 'blockstore-level'
import { LevelDatastore } from 'datastore-level'
import { createHeliaLight, type Helia } from 'helia'

export interface PlainOrbitDB {
  helia: Helia & { libp2p: Libp2p<{ pubsub: GossipSub }> }
  libp2p: Libp2p<{ pubsub: GossipSub }>
  orbitdb: OrbitDB
  blockstore: LevelBlockstore
  stop: () => Promise<void>
}

export interface PlainOrbitDBOptions {
  /**
   * Gossipsub messages without a peer signature, as bertybot peers send them:
   * what a stock OrbitDB peer needs to take part in a group's topics (gossipsub
   * drops messages signed otherwise than its policy says). Off by default: the
   * benchmark's baseline is OrbitDB as it comes.
   */
  anonymous?: boolean
  /** Gossipsub settings on top of `allowPublishToZeroTopicPeers` (which sync needs); stock otherwise. */
  gossipsub?: Partial<GossipsubOpts>
}

export async function startPlainOrbitDB (dir: string, options: PlainOrbitDBOptions = {}): Promise<PlainOrbitDB> {
  const blockstore = new LevelBlockstore(join(dir, 'blocks'))
  const datastore = new LevelDatastore(join(dir, 'data'))
  await blockstore.open()
  await datastore.open()
  const helia = withBitswap(withLibp2pLight(createHeliaLight({ blockstore, datastore, codecs: [dagCbor] }), {
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({
        ...options.gossipsub,
        ...(options.anonymous === true ? { globalSignaturePolicy: 'StrictNoSign' as const } : {}),
        allowPublishToZeroTopicPeers: true
      })
    }
  })) as unknown as PlainOrbitDB['helia']
  await helia.start()
  const orbitdb = await createOrbitDB({ ipfs: helia, directory: join(dir, 'orbitdb') })
  return {
    helia,
    libp2p: helia.libp2p,
    orbitdb,
    blockstore,
    stop: async () => {
      await orbitdb.stop()
      await helia.stop()
      await blockstore.close()
      await datastore.close()
    }
  }
}

/** Every block the node holds, concatenated per block. */
export async function * allBlocks (blockstore: LevelBlockstore): AsyncGenerator<{ cid: string, bytes: Uint8Array }> {
  for await (const { cid, bytes } of blockstore.getAll()) {
    const chunks: Uint8Array[] = []
    for await (const chunk of bytes) chunks.push(chunk)
    yield { cid: cid.toString(), bytes: Buffer.concat(chunks) }
  }
}
