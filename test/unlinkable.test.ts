/**
 * What an outsider learns of who writes: a plain OrbitDB peer, and a replica
 * keeping two groups' logs, both connected to every member and on every
 * topic, watch one account write in both groups while the others write too.
 * Each records what it receives (gossip messages, with the peer that passed
 * each on first; the entries it keeps; the replica's records and all it
 * logged), and none of it may tell whose an entry is: no peer id, account
 * id or device id in what they hold, the first hop of an entry not its
 * author's peer more often than chance allows, every sealed value of a size
 * among the padded sizes, and the replica's registration without the
 * account that made it.
 */
import { join } from 'node:path'
import type { GossipSub } from '@libp2p/gossipsub'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { useAccessController, type Database } from '@orbitdb/core'
import { LevelBlockstore } from 'blockstore-level'
import { ClassicLevel } from 'classic-level'
import { describe, expect, it } from 'vitest'
import { bytesToHex } from '../src/protocol/crypto.ts'
import { idToKey } from '../src/protocol/encoding.ts'
import { GroupAccessController, type Group } from '../src/protocol/index.ts'
import { decodeEntry } from '../src/protocol/log-entry.ts'
import { withPeerStack } from '../src/protocol/peer-stack.ts'
import { Replica } from '../src/protocol/replica.ts'
import { LogCapture } from './helpers/log-capture.ts'
import { formGroup, startPeers, type TestPeer } from './helpers/peers.ts'
import { allBlocks, startPlainOrbitDB } from './helpers/plain-orbitdb.ts'
import { tempDir } from './helpers/temp.ts'
import { pollUntil, waitFor } from './helpers/wait.ts'

/** The sizes a sealed value may have: 512 bytes and each power of two up to 64 KiB, then multiples of 64 KiB. */
function isPaddedSize (length: number): boolean {
  if (length < 512) return false
  return length <= 65_536 ? (length & (length - 1)) === 0 : length % 65_536 === 0
}

/** What an outsider's gossipsub hands it: each entry with the peer it came from first. */
class GossipWatch {
  /** Entry hash → the first arrival. */
  readonly first = new Map<string, { topic: string, from: string }>()
  readonly messages: Array<{ topic: string, data: Uint8Array, unsigned: boolean }> = []
  readonly #waiters = new Set<() => void>()

  constructor (pubsub: GossipSub) {
    pubsub.addEventListener('gossipsub:message', (event) => {
      const { propagationSource, msg } = event.detail
      // Unsigned messages carry no `from`, `seqno`, `signature` or `key`: nothing names a peer.
      this.messages.push({ topic: msg.topic, data: msg.data, unsigned: msg.type === 'unsigned' && !('from' in msg) })
      void decodeEntry(msg.data).then((entry) => {
        if (!this.first.has(entry.hash)) this.first.set(entry.hash, { topic: msg.topic, from: propagationSource.toString() })
        for (const wake of this.#waiters) wake()
      }, () => {})
    })
  }

  async arrived (hash: string, who: string): Promise<void> {
    await waitFor(`${who} to receive entry ${hash} by gossip`, (done) => {
      const check = (): void => { if (this.first.has(hash)) done(true) }
      this.#waiters.add(check)
      check()
      return () => { this.#waiters.delete(check) }
    }, 20_000)
  }
}

/** Every form an id may take in bytes an outsider holds: raw, hex, and as text. */
function needles (peers: TestPeer[]): Array<{ name: string, bytes: Buffer }> {
  const out: Array<{ name: string, bytes: Buffer }> = []
  for (const { peer } of peers) {
    for (const [kind, id] of [['account', peer.accountId], ['device', peer.deviceId]] as const) {
      const key = idToKey(id) as Uint8Array
      out.push({ name: `${kind} key of ${peer.displayName ?? '?'}`, bytes: Buffer.from(key) })
      out.push({ name: `${kind} id of ${peer.displayName ?? '?'}`, bytes: Buffer.from(id) })
      out.push({ name: `${kind} key (hex) of ${peer.displayName ?? '?'}`, bytes: Buffer.from(bytesToHex(key)) })
    }
    out.push({ name: `peer id of ${peer.displayName ?? '?'}`, bytes: Buffer.from(peer.peerId) })
    out.push({ name: `peer id bytes of ${peer.displayName ?? '?'}`, bytes: Buffer.from(peerIdFromString(peer.peerId).toMultihash().bytes) })
  }
  return out
}

function expectNoNeedle (what: string, bytes: Uint8Array, forms: Array<{ name: string, bytes: Buffer }>): void {
  const haystack = Buffer.from(bytes)
  for (const needle of forms) {
    if (haystack.includes(needle.bytes)) expect.fail(`${what} contains the ${needle.name}`)
  }
}

async function dumpLevel (dir: string): Promise<Uint8Array[]> {
  const db = new ClassicLevel<string, Uint8Array>(dir, { valueEncoding: 'view' })
  await db.open()
  const out: Uint8Array[] = []
  for await (const [key, value] of db.iterator()) out.push(Buffer.from(key), value)
  await db.close()
  return out
}

describe('an outsider holding two groups\' logs', () => {
  it('cannot tell whose entries are whose, nor that one account writes in both groups', async () => {
    const members = await startPeers(['alice-unlinkable', 'bob-unlinkable', 'carol-unlinkable'])
    const [alice, bob, carol] = members as [TestPeer, TestPeer, TestPeer]
    const peers = members.map((m) => m.peer)
    const first = await formGroup(peers, 'first')
    const second = await formGroup(peers, 'second')

    // A replica of ours, all it logs captured; its node is held here only to watch its gossip.
    const replicaDir = await tempDir('replica')
    const replicaLog = new LogCapture('debug')
    const { replica, replicaPubsub, replicaNode } = await withPeerStack({
      dataDir: replicaDir, listen: ['/ip4/127.0.0.1/tcp/0'], announce: [], bootstrap: [], relay: { client: false, server: false }, mdns: false, dht: 'lan'
    }, replicaLog.logger, async (stack) => {
      const kept = new Replica({ ...stack, logger: replicaLog.logger, maxFileSize: 1024 * 1024 })
      await kept.start()
      return { replica: kept, replicaPubsub: stack.node.libp2p.services.pubsub, replicaNode: stack.node.libp2p }
    })
    const replicaWatch = new GossipWatch(replicaPubsub)
    // The account that writes in both groups is the one that registers both with the replica.
    await first[0]!.addReplica(replica.link())
    await second[0]!.addReplica(replica.link())
    expect(replica.groups().map((g) => g.id).sort()).toEqual([first[0]!.id, second[0]!.id].sort())

    // A plain OrbitDB peer that knows the logs' addresses.
    useAccessController(GroupAccessController)
    const plain = await startPlainOrbitDB(await tempDir('plain'), { anonymous: true })
    const plainWatch = new GossipWatch(plain.libp2p.services.pubsub)
    // Both outsiders are connected to every member (the plain peer before it opens the logs, whose
    // manifests it fetches from them) and on every topic.
    for (const member of members) {
      await replicaNode.dial(multiaddr(member.peer.multiaddrs[0] as string))
      await plain.libp2p.dial(multiaddr(member.peer.multiaddrs[0] as string))
    }
    const plainLogs: Database[] = []
    for (const group of [first[0]!, second[0]!]) {
      plainLogs.push(await plain.orbitdb.open(group.logAddresses.messages), await plain.orbitdb.open(group.logAddresses.metadata))
    }
    const topics = [first[0]!, second[0]!].flatMap((g) => [g.logAddresses.messages, g.logAddresses.metadata])
    await pollUntil('every member to be on every topic, as both outsiders see it', () => topics.every((topic) =>
      members.every(({ peer }) => [replicaPubsub, plain.libp2p.services.pubsub].every((pubsub) => pubsub.getSubscribers(topic).some((p) => p.toString() === peer.peerId)))))

    // Each writes in turn; each entry is awaited at both outsiders before the next.
    const lengths = [3, 60, 250, 700, 1800, 30]
    const written: Array<{ writer: TestPeer, group: Group, hash: string }> = []
    const write = async (writer: TestPeer, group: Group, i: number): Promise<void> => {
      const text = `${writer.peer.displayName ?? ''} ${i} `.padEnd(lengths[i % lengths.length] as number, 'x')
      const hash = await group.send({ text })
      await replicaWatch.arrived(hash, 'the replica')
      await plainWatch.arrived(hash, 'the plain OrbitDB peer')
      written.push({ writer, group, hash })
    }
    const [a1, b1] = [first[0]!, first[1]!]
    const [a2, c2] = [second[0]!, second[2]!]
    for (let i = 0; i < 12; i++) {
      await write(alice, a1, i)
      await write(alice, a2, i)
      await write(bob, b1, i)
      await write(carol, c2, i)
    }

    for (const [who, watch] of [['the replica', replicaWatch], ['the plain OrbitDB peer', plainWatch]] as const) {
      // Nothing in a gossip message names a peer or an account.
      const forms = needles(members)
      expect(watch.messages.length).toBeGreaterThanOrEqual(written.length)
      for (const message of watch.messages) {
        expect(message.unsigned).toBe(true)
        expectNoNeedle(`a gossip message ${who} received`, message.data, forms)
      }
      // The peer that passes an entry on first is its author's no more often than chance would have it:
      // with three members that is a third of the time, here at most three quarters.
      const firstHops = written.map(({ writer, hash }) => ({ writer, from: watch.first.get(hash)?.from }))
      const ownFirst = firstHops.filter(({ writer, from }) => from === writer.peer.peerId).length
      expect(ownFirst, `${who}: entries whose first hop was their author`).toBeLessThan(0.75 * written.length)
      const alices = firstHops.filter(({ writer }) => writer === alice)
      expect(alices.filter(({ from }) => from === alice.peer.peerId).length, `${who}: alice's entries first passed on by alice`).toBeLessThan(0.75 * alices.length)
      // ...nor is any one peer the first hop of most of what alice wrote in both groups.
      for (const { peer } of members) {
        const inFirst = written.filter((w) => w.writer === alice && w.group === a1 && watch.first.get(w.hash)?.from === peer.peerId).length
        const inSecond = written.filter((w) => w.writer === alice && w.group === a2 && watch.first.get(w.hash)?.from === peer.peerId).length
        expect(inFirst >= 9 && inSecond >= 9, `${who}: ${peer.displayName ?? ''} first passed on most of alice's entries in both groups`).toBe(false)
      }
    }
    // The replica relays nothing it was handed by a writer: no entry reached the plain peer from it first.
    expect([...plainWatch.first.values()].filter(({ from }) => from === replica.peerId)).toEqual([])

    // Every entry either outsider holds has its sealed value padded to one of the sizes.
    // Gossip arrives before OrbitDB has fetched and kept an entry; one fetched as another's ancestor emits no update.
    const plainLogOf = new Map(plainLogs.map((db) => [db.address, db]))
    // The metadata logs come by the stock sync's own heads exchange, which may finish after the messages.
    await pollUntil('the plain OrbitDB peer to keep every entry written, and some of each metadata log', async () => {
      for (const { group, hash } of written) {
        if (!await (plainLogOf.get(group.logAddresses.messages) as Database).log.has(hash)) return false
      }
      for (const db of plainLogs) if ((await db.log.heads()).length === 0) return false
      return true
    }, 60_000)
    const addresses = new Set(topics)
    let held = 0
    for await (const { bytes } of allBlocks(plain.blockstore)) {
      let entry
      try {
        entry = await decodeEntry(bytes)
      } catch {
        continue
      }
      if (!addresses.has(entry.id)) continue
      held++
      const value = (entry.payload as { value: Uint8Array }).value
      expect(isPaddedSize(value.length), `a sealed value of ${value.length} bytes`).toBe(true)
    }
    expect(held).toBeGreaterThan(written.length)

    for (const db of plainLogs) await db.close()
    await plain.stop()
    await replica.stop()
    for (const member of members) await member.peer.stop()

    // The replica kept no id of anyone: not in its records, its entries, its blocks, nor anything it logged.
    const forms = needles(members).filter((n) => !n.name.startsWith('peer id'))
    for (const bytes of await dumpLevel(join(replicaDir, 'state'))) expectNoNeedle('the replica\'s state database', bytes, forms)
    const blocks = new LevelBlockstore(join(replicaDir, 'ipfs', 'blocks'))
    await blocks.open()
    for await (const { bytes } of allBlocks(blocks)) expectNoNeedle('a block the replica holds', bytes, needles(members))
    await blocks.close()
    expectNoNeedle('what the replica logged', Buffer.from(JSON.stringify(replicaLog.lines)), forms)
    expect(replicaLog.lines.length).toBeGreaterThan(0)
  }, 240_000)
})
