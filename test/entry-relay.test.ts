/**
 * The relay of new entries, on the sync alone: real libp2p nodes on
 * 127.0.0.1 with group logs of one signing key (members) or of its public
 * half only (a keyless peer, as a replica).
 */
import type { PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { afterAll, describe, expect, it } from 'vitest'
import { generateSigningKeyPair, type SigningKeyPair } from '../src/protocol/crypto.ts'
import { decodeCbor, encodeCbor } from '../src/protocol/encoding.ts'
import { createEntry, decodeEntry, groupPayload, type StoredEntry } from '../src/protocol/log-entry.ts'
import { RELAY_PROTOCOL } from '../src/protocol/relay-wire.ts'
import { z } from 'zod'
import { startSyncNode, type SyncNode } from './helpers/sync-node.ts'
import { pollUntil, waitFor } from './helpers/wait.ts'

interface Node extends SyncNode {
  /** Entry hash → the peer each gossip message of it came from first. */
  firstHop: Map<string, string>
}

const started: Node[] = []
afterAll(async () => { await Promise.all(started.map(async (node) => { await node.stop() })) })

async function startNode (signing: SigningKeyPair | { publicKey: Uint8Array }): Promise<Node> {
  const firstHop = new Map<string, string>()
  const node = {
    ...await startSyncNode(signing, {
      beforeRegister: (stack) => {
        stack.node.libp2p.services.pubsub.addEventListener('gossipsub:message', (event) => {
          void decodeEntry(event.detail.msg.data).then((entry) => {
            if (!firstHop.has(entry.hash)) firstHop.set(entry.hash, event.detail.propagationSource.toString())
          }, () => {})
        })
      }
    }),
    firstHop
  }
  started.push(node)
  return node
}

async function connect (a: Node, b: Node): Promise<void> {
  await a.stack.node.libp2p.dial(b.stack.node.libp2p.getMultiaddrs()[0]!)
}

async function append (node: Node, text: string): Promise<string> {
  const [entry] = await node.log.append([new TextEncoder().encode(text)])
  return entry!.hash
}

async function holds (node: Node, hash: string, what: string): Promise<void> {
  await pollUntil(what, () => node.firstHop.has(hash))
}

const relayIds = (node: Node): string[] => node.stack.sync.relays(node.log.address).map((peer: PeerId) => peer.toString())

/** The relay protocol's streams on `node`'s connections to `other`, whatever their state. */
const relayStreams = (node: Node, other: Node): Stream[] =>
  node.stack.node.libp2p.getConnections(other.stack.node.libp2p.peerId).flatMap((connection) => connection.streams).filter((stream) => stream.protocol === RELAY_PROTOCOL)

/** Alice, bob (members) and a keyless peer, all connected, alice and bob knowing each other as members. */
async function threePeers (): Promise<{ alice: Node, bob: Node, keyless: Node }> {
  const signing = generateSigningKeyPair()
  const [alice, bob, keyless] = [await startNode(signing), await startNode(signing), await startNode({ publicKey: signing.publicKey })]
  await connect(alice, bob)
  await connect(alice, keyless)
  await connect(bob, keyless)
  await pollUntil('alice and bob to know each other as members', () => relayIds(alice).includes(bob.id) && relayIds(bob).includes(alice.id))
  await allOnTopic([alice, bob, keyless])
  return { alice, bob, keyless }
}

/** Waits until each node knows the others on the topic: a publisher that did not know one there yet would leave it to another to pass on. */
async function allOnTopic (nodes: Node[]): Promise<void> {
  const subscribers = (node: Node): string[] => node.stack.node.libp2p.services.pubsub.getSubscribers(node.log.address).map((peer) => peer.toString())
  await pollUntil('each on the others\' topic', () => nodes.every((node) => nodes.every((other) => other === node || subscribers(node).includes(other.id))))
}

/** Appends an entry on alice and publishes it through `through` (drawn if not given); resolves with its hash once the keyless peer holds it. */
async function publishThrough (alice: Node, keyless: Node, text: string, through?: Node): Promise<string> {
  const [entry] = await alice.log.append([new TextEncoder().encode(text)])
  await alice.stack.sync.publish(alice.log.address, [entry!], through?.stack.node.libp2p.peerId)
  await holds(keyless, entry!.hash, `"${text}" at the keyless peer`)
  return entry!.hash
}

/**
 * Hands `entry` of alice's to `through` and resolves once alice is told it was handed over. (A heads
 * exchange still under way may report what it handed over before, an earlier time: this entry's is waited for.)
 */
async function handOverAndHear (alice: Node, entry: StoredEntry, through: Node): Promise<void> {
  const handed = waitFor('alice to be told the entry was handed over', (done) => {
    const seen = (_address: string, upTo: number): void => { if (upTo >= entry.clock.time) done(upTo) }
    alice.stack.sync.on('handedOver', seen)
    return () => { alice.stack.sync.off('handedOver', seen) }
  })
  await alice.stack.sync.publish(alice.log.address, [entry], through.stack.node.libp2p.peerId)
  expect(await handed).toBe(entry.clock.time)
}

describe('the relay of new entries', () => {
  it('goes only through peers that proved they hold the group\'s secret, and publishes from the one chosen', async () => {
    const signing = generateSigningKeyPair()
    const [alice, bob, keyless] = [await startNode(signing), await startNode(signing), await startNode({ publicKey: signing.publicKey })]
    // Heard from the start: the keyless peer's exchange with alice may come before the members know each other.
    const swappedWithAlice = new Set<string>()
    alice.stack.sync.on('peer', (_address: string, peer: string) => { swappedWithAlice.add(peer) })
    await connect(alice, bob)
    await connect(alice, keyless)
    await connect(bob, keyless)
    await pollUntil('alice and bob to know each other as members', () => relayIds(alice).includes(bob.id) && relayIds(bob).includes(alice.id))
    // The keyless peer swapped heads with alice too (it serves the log), and sent bytes that prove nothing.
    await pollUntil('the keyless peer to swap heads with alice', () => swappedWithAlice.has(keyless.id))
    await allOnTopic([alice, bob, keyless])
    expect(relayIds(alice)).toEqual([bob.id])
    expect(relayIds(keyless)).toEqual([])

    // Through bob: the keyless peer gets it from bob first; bob and alice hold it.
    const [entry] = await alice.log.append([new TextEncoder().encode('through bob')])
    await handOverAndHear(alice, entry!, bob)
    await holds(keyless, entry!.hash, 'the keyless peer to get the entry by gossip')
    expect(keyless.firstHop.get(entry!.hash)).toBe(bob.id)
    await pollUntil('bob to hold the entry', () => bob.log.heads().includes(entry!.hash))

    // Drawn at random, alice and bob each publish some of alice's entries.
    const hashes: string[] = []
    for (let i = 0; i < 40; i++) {
      const [next] = await alice.log.append([new TextEncoder().encode(`drawn ${i}`)])
      await alice.stack.sync.publish(alice.log.address, [next!])
      hashes.push(next!.hash)
      await holds(keyless, next!.hash, `entry ${i} at the keyless peer`)
    }
    const byBob = hashes.filter((hash) => keyless.firstHop.get(hash) === bob.id).length
    const byAlice = hashes.filter((hash) => keyless.firstHop.get(hash) === alice.id).length
    expect(byBob + byAlice).toBe(hashes.length)
    expect(byBob).toBeGreaterThan(5)
    expect(byAlice).toBeGreaterThan(5)
  })

  it('is refused for entries not signed by the group or of another log, and a held entry is not published again', async () => {
    const signing = generateSigningKeyPair()
    const [alice, bob] = [await startNode(signing), await startNode(signing)]
    await connect(alice, bob)
    await pollUntil('alice to know bob as a member', () => relayIds(alice).includes(bob.id))
    const ask = async (entries: Uint8Array[], address = bob.log.address): Promise<boolean | undefined> => {
      const stream = await alice.stack.node.libp2p.dialProtocol(bob.stack.node.libp2p.peerId, RELAY_PROTOCOL)
      const lp = lpStream(stream)
      await lp.write(encodeCbor({ id: 0, address, entries }))
      const answer = decodeCbor((await lp.read()).subarray(), z.object({ id: z.literal(0), ok: z.boolean() }))
      await stream.close()
      return answer?.ok
    }
    const forged = await createEntry(generateSigningKeyPair(), { id: bob.log.address, payload: groupPayload(new Uint8Array([1])), next: [], refs: [], time: 1 })
    const elsewhere = await createEntry(signing, { id: '/orbitdb/zdpuElsewhere', payload: groupPayload(new Uint8Array([2])), next: [], refs: [], time: 1 })
    expect(await ask([forged.bytes])).toBe(false)
    expect(await ask([elsewhere.bytes])).toBe(false)
    expect(await ask([new Uint8Array([1, 2, 3])])).toBe(false)
    expect(await ask([forged.bytes], '/orbitdb/zdpuNotALog')).toBe(false)
    expect(bob.log.heads()).toEqual([])

    // Several requests on one stream are answered in turn, each naming its request; a malformed one ends the stream.
    const stream = await alice.stack.node.libp2p.dialProtocol(bob.stack.node.libp2p.peerId, RELAY_PROTOCOL)
    const lp = lpStream(stream)
    await lp.write(encodeCbor({ id: 0, address: bob.log.address, entries: [forged.bytes] }))
    await lp.write(encodeCbor({ id: 1, address: '/orbitdb/zdpuNotALog', entries: [forged.bytes] }))
    const answer = z.object({ id: z.number(), ok: z.boolean() })
    expect(decodeCbor((await lp.read()).subarray(), answer)).toEqual({ id: 0, ok: false })
    expect(decodeCbor((await lp.read()).subarray(), answer)).toEqual({ id: 1, ok: false })
    await lp.write(encodeCbor({ id: 2, address: bob.log.address }))
    await expect(lp.read()).rejects.toThrow()
    expect(['reset', 'aborted', 'closed']).toContain(stream.status)

    // A good one is taken; handed over again, it is not published a second time. (A keyless peer on
    // the topic: with alice its only peer there, bob would publish nothing, see below.)
    const keyless = await startNode({ publicKey: signing.publicKey })
    await connect(keyless, bob)
    await pollUntil('bob to see the keyless peer on the topic', () => bob.stack.node.libp2p.services.pubsub.getSubscribers(bob.log.address).some((peer) => peer.toString() === keyless.id))
    const hash = await append(alice, 'once')
    const entry = await alice.log.get(hash)
    let published = 0
    const pubsub = bob.stack.node.libp2p.services.pubsub
    const original = pubsub.publish.bind(pubsub)
    pubsub.publish = async (...args) => { published++; return await original(...args) }
    expect(await ask([entry!.bytes])).toBe(true)
    await pollUntil('bob to hold it', () => bob.log.heads().includes(hash))
    expect(await ask([entry!.bytes])).toBe(true)
    expect(published).toBe(1)
    pubsub.publish = original
  })

  it('publishes nothing when writer and relay are each the other\'s only peer on the topic, and publishes once either has another', async () => {
    const signing = generateSigningKeyPair()
    const [alice, bob] = [await startNode(signing), await startNode(signing)]
    await connect(alice, bob)
    await pollUntil('alice to know bob as a member', () => relayIds(alice).includes(bob.id))
    await allOnTopic([alice, bob])
    const pubsub = bob.stack.node.libp2p.services.pubsub
    const original = pubsub.publish.bind(pubsub)
    let publishedByBob = 0
    pubsub.publish = async (...args) => { publishedByBob++; return await original(...args) }
    try {
      // Handed to bob, taken (alice is told so) and held by him; gossip brings alice nothing back.
      const [entry] = await alice.log.append([new TextEncoder().encode('between the two of us')])
      await handOverAndHear(alice, entry!, bob)
      await pollUntil('bob to hold the entry', () => bob.log.heads().includes(entry!.hash))
      expect(publishedByBob).toBe(0)
      expect(alice.firstHop.has(entry!.hash)).toBe(false)

      // A keyless peer joins alice alone on the topic: bob publishes (to alice), and her gossip passes it on.
      const carol = await startNode({ publicKey: signing.publicKey })
      await connect(carol, alice)
      await allOnTopic([alice, carol])
      const [toCarol] = await alice.log.append([new TextEncoder().encode('with a third at alice\'s')])
      await handOverAndHear(alice, toCarol!, bob)
      await holds(carol, toCarol!.hash, 'carol to get it by gossip, through alice')
      expect(carol.firstHop.get(toCarol!.hash)).toBe(alice.id)
      expect(publishedByBob).toBe(1)

      // A keyless peer joins bob on the topic: the next hand-over is published, and it comes from bob first.
      const keyless = await startNode({ publicKey: signing.publicKey })
      await connect(keyless, bob)
      await allOnTopic([bob, keyless])
      const [next] = await alice.log.append([new TextEncoder().encode('now with a third')])
      await alice.stack.sync.publish(alice.log.address, [next!], bob.stack.node.libp2p.peerId)
      await holds(keyless, next!.hash, 'the keyless peer to get it by gossip')
      expect(keyless.firstHop.get(next!.hash)).toBe(bob.id)
      expect(publishedByBob).toBe(2)
    } finally {
      pubsub.publish = original
    }
  })

  it('is skipped when every peer on the topic is a member that proved it, and drawn again once another is there', async () => {
    const signing = generateSigningKeyPair()
    const [alice, bob] = [await startNode(signing), await startNode(signing)]
    await connect(alice, bob)
    await pollUntil('alice to know bob as a member', () => relayIds(alice).includes(bob.id))
    await allOnTopic([alice, bob])
    // Nobody but members there: alice publishes each entry herself, and hands none over.
    for (let i = 0; i < 20; i++) {
      const hash = await append(alice, `between members ${i}`)
      await alice.stack.sync.publish(alice.log.address, [(await alice.log.get(hash))!])
      await holds(bob, hash, `entry ${i} at bob, by gossip`)
      expect(bob.firstHop.get(hash)).toBe(alice.id)
    }
    expect(relayStreams(alice, bob)).toEqual([])

    // A keyless peer on the topic: publications are drawn again, and some go through bob.
    const keyless = await startNode({ publicKey: signing.publicKey })
    await connect(alice, keyless)
    await connect(bob, keyless)
    await allOnTopic([alice, bob, keyless])
    const hashes: string[] = []
    for (let i = 0; i < 20; i++) {
      const hash = await append(alice, `with an outsider ${i}`)
      await alice.stack.sync.publish(alice.log.address, [(await alice.log.get(hash))!])
      await holds(keyless, hash, `entry ${i} at the keyless peer`)
      hashes.push(hash)
    }
    expect(hashes.filter((hash) => keyless.firstHop.get(hash) === bob.id).length).toBeGreaterThan(0)
  })

  it('hands many entries in a row to one relay over one stream, sent one by one or all at once', async () => {
    const { alice, bob, keyless } = await threePeers()
    expect(relayStreams(alice, bob)).toEqual([])
    const first = await publishThrough(alice, keyless, 'opens the stream', bob)
    expect(keyless.firstHop.get(first)).toBe(bob.id)
    const [stream] = relayStreams(alice, bob)
    expect(stream).toBeDefined()
    for (let i = 0; i < 20; i++) {
      const hash = await publishThrough(alice, keyless, `one by one ${i}`, bob)
      expect(keyless.firstHop.get(hash)).toBe(bob.id)
      expect(relayStreams(alice, bob)).toEqual([stream])
      expect(relayStreams(bob, alice).length).toBe(1)
    }

    // Hand-overs started together go out one after another on the same stream, each taken: alice publishes none herself.
    const entries = await alice.log.append(Array.from({ length: 30 }, (_, i) => new TextEncoder().encode(`at once ${i}`)))
    const pubsub = alice.stack.node.libp2p.services.pubsub
    const original = pubsub.publish.bind(pubsub)
    let publishedByAlice = 0
    pubsub.publish = async (...args) => { publishedByAlice++; return await original(...args) }
    let most = 0
    const sampler = setInterval(() => { most = Math.max(most, relayStreams(alice, bob).length, relayStreams(bob, alice).length) }, 2)
    try {
      await Promise.all(entries.map(async (entry) => { await alice.stack.sync.publish(alice.log.address, [entry], bob.stack.node.libp2p.peerId) }))
    } finally {
      clearInterval(sampler)
      pubsub.publish = original
    }
    expect(most).toBe(1)
    expect(publishedByAlice).toBe(0)
    // Which copy the keyless peer sees first is gossip's affair here: it reads bob's burst and alice's forwarded copies in turn.
    for (const entry of entries) await holds(keyless, entry.hash, 'each entry at the keyless peer')
    await pollUntil('bob to hold them all', () => bob.log.heads().includes(entries.at(-1)!.hash))
    expect(relayStreams(alice, bob)).toEqual([stream])
    expect(relayStreams(bob, alice).length).toBe(1)

    // Stopping the sync leaves no relay stream open, at either end.
    await alice.stack.sync.stop()
    expect(relayStreams(alice, bob)).toEqual([])
    await pollUntil('bob\'s end of the stream to close', () => relayStreams(bob, alice).length === 0)
  })

  it('takes handed-over entries into the log before answering, so that what the writer sends next by gossip finds them', async () => {
    const { alice, bob, keyless } = await threePeers()
    await publishThrough(alice, keyless, 'opens the stream', bob)
    // Every join bob's log makes, and what each found missing.
    const missingAtJoin: string[] = []
    const join = bob.log.join.bind(bob.log)
    bob.log.join = async (entries) => {
      const outcome = await join(entries)
      missingAtJoin.push(...outcome.missing)
      return outcome
    }
    // A burst handed over to bob, all answered; then the next entry, published by alice herself.
    const burst = await alice.log.append(Array.from({ length: 30 }, (_, i) => new TextEncoder().encode(`burst ${i}`)))
    await Promise.all(burst.map(async (entry) => { await alice.stack.sync.publish(alice.log.address, [entry], bob.stack.node.libp2p.peerId) }))
    const [after] = await alice.log.append([new TextEncoder().encode('after the burst')])
    await alice.stack.sync.publish(alice.log.address, [after!], 'self')
    await pollUntil('bob to hold the entry after the burst', () => bob.log.heads().includes(after!.hash))
    // Its parent, the burst's last, was in bob's log (or in line for it) when it came: nothing was missing.
    expect(missingAtJoin).toEqual([])
  })

  it('closes a relay stream left idle, at both ends, and opens another for the next hand-over', async () => {
    const { alice, bob, keyless } = await threePeers()
    await publishThrough(alice, keyless, 'opens the stream', bob)
    const [first] = relayStreams(alice, bob)
    expect(first).toBeDefined()
    await pollUntil('the idle stream to close at both ends', () => relayStreams(alice, bob).length === 0 && relayStreams(bob, alice).length === 0, 60_000)
    expect(first!.status).toBe('closed')
    const next = await publishThrough(alice, keyless, 'after a pause', bob)
    expect(keyless.firstHop.get(next)).toBe(bob.id)
    expect(relayStreams(alice, bob).length).toBe(1)
  }, 90_000)

  it('gets the next entries through after the relay stream was reset or its connection closed', async () => {
    const { alice, bob, keyless } = await threePeers()
    await publishThrough(alice, keyless, 'opens the stream', bob)
    const [first] = relayStreams(alice, bob)
    expect(first).toBeDefined()

    // The relay resets its end (as a relay restarting would): the next hand-over opens another stream.
    for (const stream of relayStreams(bob, alice)) stream.abort(new Error('reset by the relay'))
    await pollUntil('alice to see the stream reset', () => first!.status !== 'open')
    const afterReset = await publishThrough(alice, keyless, 'after the reset', bob)
    expect(keyless.firstHop.get(afterReset)).toBe(bob.id)
    const [second] = relayStreams(alice, bob)
    expect(second).toBeDefined()
    expect(second!.id).not.toBe(first!.id)
    expect(relayStreams(alice, bob).length).toBe(1)

    // The connection closes: bob is no relay while away, alice's entries still go out; back, bob relays again.
    await alice.stack.node.libp2p.hangUp(bob.stack.node.libp2p.peerId)
    expect(relayStreams(alice, bob)).toEqual([])
    const whileAway = await publishThrough(alice, keyless, 'while bob is away')
    expect(keyless.firstHop.get(whileAway)).toBe(alice.id)
    await connect(alice, bob)
    await pollUntil('alice to know bob as a member again', () => relayIds(alice).includes(bob.id))
    const back = await publishThrough(alice, keyless, 'bob is back', bob)
    expect(keyless.firstHop.get(back)).toBe(bob.id)
    expect(relayStreams(alice, bob).length).toBe(1)

    // A relay that no longer serves the protocol and resets the stream: the hand-over fails, and alice publishes herself.
    await bob.stack.node.libp2p.unhandle(RELAY_PROTOCOL)
    for (const stream of relayStreams(bob, alice)) stream.abort(new Error('reset by the relay'))
    const refused = await publishThrough(alice, keyless, 'bob refuses', bob)
    expect(keyless.firstHop.get(refused)).toBe(alice.id)
  })

  it('falls back to publishing itself when no member is online', async () => {
    const signing = generateSigningKeyPair()
    const [alice, keyless] = [await startNode(signing), await startNode({ publicKey: signing.publicKey })]
    await connect(alice, keyless)
    await pollUntil('the keyless peer on the topic', () => alice.stack.node.libp2p.services.pubsub.getSubscribers(alice.log.address).length > 0)
    const hash = await append(alice, 'alone')
    await alice.stack.sync.publish(alice.log.address, [(await alice.log.get(hash))!])
    await holds(keyless, hash, 'the keyless peer to get it')
    expect(keyless.firstHop.get(hash)).toBe(alice.id)
  })
  it('hands what it published to nobody to the first member that proves itself, which publishes it to its peers', async () => {
    const signing = generateSigningKeyPair()
    const [alice, bob, carol] = [await startNode(signing), await startNode(signing), await startNode(signing)]
    await connect(bob, carol)
    await allOnTopic([bob, carol])
    // Alice, connected to nobody, writes: gossip has no peer to take it.
    const hash = await append(alice, 'while alone')
    const handed: number[] = []
    alice.stack.sync.on('handedOver', (_address: string, upTo: number) => { handed.push(upTo) })
    await alice.stack.sync.publish(alice.log.address, [(await alice.log.get(hash))!])
    expect(handed).toEqual([])

    // She reaches bob: once he proves himself a member, he publishes it, and carol has it by gossip from him.
    await connect(alice, bob)
    await holds(carol, hash, 'carol to get alice\'s entry by gossip')
    expect(carol.firstHop.get(hash)).toBe(bob.id)
    const time = (await alice.log.get(hash))!.clock.time
    await pollUntil('alice to be told it was handed over', () => handed.includes(time))
  })
})
