/**
 * The network node under a peer: libp2p (TCP and WebSockets, Noise, Yamux,
 * identify, gossipsub, kad-dht; circuit relay and mDNS when asked) and Helia
 * with its blocks and data on disk. (The group logs are OrbitDB logs, kept by
 * our own store: `group-log.ts`.)
 *
 * Helia is composed by hand rather than with `createHelia()`, whose defaults
 * add public HTTP routers, gateways and a bootstrap list: with our defaults a
 * peer contacts no host its user did not name.
 */
import { join } from 'node:path'
import { yamux } from '@chainsafe/libp2p-yamux'
import { withBitswap } from '@helia/bitswap'
import { withLibp2pLight } from '@helia/libp2p'
import * as dagCbor from '@ipld/dag-cbor'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p, PeerDiscovery, PeerDiscoveryProvider } from '@libp2p/interface'
import { kadDHT, removePrivateAddressesMapper, removePublicAddressesMapper, type KadDHT } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { LevelDatastore } from 'datastore-level'
import { createHeliaLight, type Helia } from 'helia'
import { PeerBlockstore, type EntryLookup, type LocalBlocks } from './blockstore.ts'
import { coalescedWrites } from './coalesced-writes.ts'
import { LocalPeers } from './local-peers.ts'
import { tunedNoise } from './noise-tuning.ts'
import { libp2pLogger } from './libp2p-logger.ts'
import { namespaced, type Logger } from './logger.ts'
import { PeerRecordCache } from './peer-records.ts'
import { skipKnownProtocolMerges } from './peer-store-protocols.ts'

/** Where the DHT runs: `lan` for loopback and local networks, `public` for the IPFS network (it reveals which rendezvous points a peer looks up), or off. */
export type DhtMode = 'lan' | 'public' | 'off'

export interface NodeOptions {
  dataDir: string
  listen: string[]
  /** Addresses to give others instead of the ones listened on (behind NAT, in a container). */
  announce: string[]
  bootstrap: string[]
  relay: { client: boolean, server: boolean }
  mdns: boolean
  dht: DhtMode
}

export interface NodeStores {
  /** The log entries kept in the state database, which the blockstore also serves. */
  entries: EntryLookup
}

export type NodeServices = {
  identify: ReturnType<ReturnType<typeof identify>>
  ping: ReturnType<ReturnType<typeof ping>>
  pubsub: GossipSub
  dht?: KadDHT
  relay?: unknown
}

export interface Node {
  readonly helia: Helia & { libp2p: Libp2p<NodeServices> }
  readonly libp2p: Libp2p<NodeServices>
  /** The blockstore, local only (no network fetch). */
  readonly blocks: LocalBlocks
  stop: () => Promise<void>
}

export async function startNode (options: NodeOptions, stores: NodeStores, logger: Logger): Promise<Node> {
  const blockstore = new PeerBlockstore(join(options.dataDir, 'ipfs', 'blocks'), stores.entries)
  const datastore = new LevelDatastore(join(options.dataDir, 'ipfs', 'data'))
  await blockstore.open()
  await datastore.open()
  // libp2p's view of it: the peer store's records in memory, written back (peer-records.ts).
  const libp2pDatastore = new PeerRecordCache(datastore, logger)
  const closeStores = async (): Promise<void> => {
    await libp2pDatastore.close().catch((err: unknown) => { logger.warn({ err }, 'could not write peer records') })
    await blockstore.close()
    await datastore.close()
  }

  const peerDiscovery: Array<(components: any) => PeerDiscovery & PeerDiscoveryProvider> = []
  if (options.bootstrap.length > 0) peerDiscovery.push(bootstrap({ list: options.bootstrap }) as never)
  // mDNS finds peers on the local network; libp2p does not dial them, this does.
  const localPeers = options.mdns ? new LocalPeers(namespaced(logger, 'protocol:mdns')) : undefined
  if (localPeers !== undefined) peerDiscovery.push(localPeers.discovery() as never)

  const services: Record<string, unknown> = {
    identify: identify(),
    ping: ping(),
    pubsub: gossipsub({
      // OrbitDB-style sync publishes each new entry, even before anyone listens.
      allowPublishToZeroTopicPeers: true,
      emitSelf: false,
      // Gossipsub's default penalises more than 10 peers on one IP address, and past a
      // few more it stops publishing to them: a group's new entries would stop reaching
      // its members. Many peers on one address is normal here (bots and replicas on one
      // host, people behind one NAT, tests on 127.0.0.1), and a sybil gains nothing:
      // every entry is checked against the group's key whoever relays it.
      scoreParams: { IPColocationFactorWeight: 0 },
      // Peer exchange: a peer that prunes another from a topic's mesh (it has more
      // than it needs) tells it of other peers on the topic, which it then dials.
      // Members of a group arrive through one inviter's address; without this they
      // would all hang off that one peer, beyond the mesh it keeps, and each new
      // entry would reach most of them only through lazy gossip, a heartbeat later.
      doPX: true,
      // ...but a few of them: each pruned peer dials every peer it is told of, and with
      // gossipsub's 16 a group of a hundred grew towards everyone connected to everyone (40
      // connections a member and rising, each with its handshake, identify and heads
      // exchange), which kept every process busy and the group from converging.
      prunePeers: 4,
      scoreThresholds: { acceptPXThreshold: 0 },
      // Messages carry no peer signature and name no author (message ids are hashes of
      // the data). Each entry is signed by its group, and checked against it, whoever
      // relays it: a peer signature added nothing but a third of the CPU each message
      // costs, and told everyone on the topic which peer wrote which entry. (A stock
      // OrbitDB peer takes our messages only with the same policy.)
      globalSignaturePolicy: 'StrictNoSign'
    })
  }
  if (options.dht !== 'off') {
    services.dht = kadDHT(options.dht === 'lan'
      ? {
          // STACK.md: on loopback and LAN the defaults hang (every node a client, loopback addresses dropped).
          protocol: '/ipfs/lan/kad/1.0.0',
          peerInfoMapper: removePublicAddressesMapper,
          clientMode: false,
          initialQuerySelfInterval: 0
        }
      : { protocol: '/ipfs/kad/1.0.0', peerInfoMapper: removePrivateAddressesMapper })
  }
  if (options.relay.server) services.relay = circuitRelayServer()

  const transports: any[] = [coalescedWrites(tcp()), coalescedWrites(webSockets())]
  if (options.relay.client) transports.push(circuitRelayTransport())

  const helia = withBitswap(withLibp2pLight(createHeliaLight({ blockstore, datastore, codecs: [dagCbor] }), {
    datastore: libp2pDatastore,
    logger: libp2pLogger(),
    addresses: { listen: options.listen, ...(options.announce.length > 0 ? { announce: options.announce } : {}) },
    transports,
    connectionEncrypters: [tunedNoise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    connectionManager: { inboundConnectionThreshold: 100, maxIncomingPendingConnections: 64, maxConnections: 2000 },
    // libp2p's connection monitor pings every connection every 10 s, records the round trip in
    // the peer store (a LevelDB read and write each) and drops the connection if a ping fails.
    // A ping fails when it overlaps the DHT's own ping of that peer (one outbound ping stream
    // per peer) or when the process is busy for a few seconds: a bot taking a burst of contacts
    // lost them that way, and in a group of a hundred the pings and their writes kept every
    // process busy. A peer that is really gone is seen by TCP, or by our protocols' timeouts.
    connectionMonitor: { enabled: false },
    services: services as any
  })) as unknown as Helia & { libp2p: Libp2p<NodeServices> }

  try {
    await helia.start()
  } catch (err) {
    await helia.stop().catch(() => {})
    await closeStores()
    throw err
  }
  // Installed once libp2p exists (Helia makes it as it starts); the streams before it write as usual.
  skipKnownProtocolMerges(helia.libp2p)
  localPeers?.start(helia.libp2p)

  let stopped = false
  return {
    helia,
    libp2p: helia.libp2p,
    blocks: blockstore.local(),
    stop: async () => {
      if (stopped) return
      stopped = true
      await localPeers?.stop()
      await helia.stop()
      await closeStores()
    }
  }
}
