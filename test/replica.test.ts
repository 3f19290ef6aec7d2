import { multiaddr } from '@multiformats/multiaddr'
import { useAccessController, type Database } from '@orbitdb/core'
import { describe, expect, it } from 'vitest'
import { GroupAccessController, decodeInvitation, type MessageEvent } from '../src/protocol/index.ts'
import { formGroup, startPeer, startPeers } from './helpers/peers.ts'
import { allBlocks, startPlainOrbitDB } from './helpers/plain-orbitdb.ts'
import { tempDir } from './helpers/temp.ts'
import { Inbox, waitFor } from './helpers/wait.ts'

async function holdsAll (db: Database, hashes: string[]): Promise<void> {
  await waitFor(`a keyless replica to hold ${hashes.length} entries`, (done) => {
    const check = (): void => {
      void Promise.all(hashes.map(async (h) => await db.log.has(h))).then((has) => { if (has.every(Boolean)) done(true) })
    }
    db.events.on('update', check)
    check()
    return () => { db.events.off('update', check) }
  }, 60_000)
}

async function holdsAtLeast (db: Database, count: number): Promise<void> {
  await waitFor(`a keyless replica to hold ${count} entries`, (done) => {
    const check = (): void => { void db.log.values().then((values) => { if (values.length >= count) done(true) }) }
    db.events.on('update', check)
    check()
    return () => { db.events.off('update', check) }
  }, 60_000)
}

describe('a plain OrbitDB peer with no group keys', () => {
  it('replicates a group\'s logs through their addresses, and reads nothing', async () => {
    const names = ['alice-display-name-xyzzy', 'bob-display-name-xyzzy']
    const [alice, bob] = await startPeers(names)
    const [ga, gb] = await formGroup([alice!.peer, bob!.peer], 'group-name-xyzzy')
    const texts = Array.from({ length: 6 }, (_, i) => `the replica must not read this, number ${i}`)
    const sent: string[] = []
    for (const text of texts.slice(0, 3)) sent.push(await (sent.length % 2 === 0 ? ga! : gb!).send({ text }))

    // Only our access controller, which needs no secret.
    useAccessController(GroupAccessController)
    const replica = await startPlainOrbitDB(await tempDir('replica'), { anonymous: true })
    await replica.libp2p.dial(multiaddr(alice!.peer.multiaddrs[0] as string))
    const messages = await replica.orbitdb.open(ga!.logAddresses.messages)
    const metadata = await replica.orbitdb.open(ga!.logAddresses.metadata)
    for (const text of texts.slice(3)) sent.push(await (sent.length % 2 === 0 ? ga! : gb!).send({ text }))

    // It gets every entry, before and after it arrived...
    await holdsAll(messages, sent)
    expect(await messages.log.values()).toHaveLength(sent.length)
    // Each member joined with one entry on the metadata log.
    await holdsAtLeast(metadata, 2)

    // ...and no block it holds contains a message, a name or the group secret.
    const secret = decodeInvitation(ga!.invitation()).keys.secret
    const needles = [...texts, ...names, 'group-name-xyzzy'].map((t) => Buffer.from(t))
    let blocks = 0
    for await (const { bytes } of allBlocks(replica.blockstore)) {
      blocks++
      for (const needle of [...needles, Buffer.from(secret)]) expect(Buffer.from(bytes).includes(needle)).toBe(false)
    }
    expect(blocks).toBeGreaterThan(sent.length)

    // It cannot write either: its entries are not signed by the group's key.
    await expect(messages.add(new Uint8Array([1, 2, 3]))).rejects.toThrow(/not allowed to write/)
    await replica.stop()
  })

  it('serves a member what it missed after the sender has gone too', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const [ga] = await formGroup([alice!.peer, bob!.peer])
    useAccessController(GroupAccessController)
    const replica = await startPlainOrbitDB(await tempDir('replica'), { anonymous: true })
    await replica.libp2p.dial(multiaddr(alice!.peer.multiaddrs[0] as string))
    // A group's replica keeps both its logs: the chain keys that open the messages are on the metadata log.
    const messages = await replica.orbitdb.open(ga!.logAddresses.messages)
    await replica.orbitdb.open(ga!.logAddresses.metadata)

    await bob!.peer.stop()
    const sent: string[] = []
    for (let i = 0; i < 5; i++) sent.push(await ga!.send({ text: `while bob was away ${i}` }))
    await holdsAll(messages, sent)
    await alice!.peer.stop()

    // Bob comes back; alice is gone; only the replica has what he missed.
    const back = await startPeer({ dataDir: bob!.dataDir, bootstrap: [replica.libp2p.getMultiaddrs()[0]!.toString()] })
    const inbox = new Inbox<MessageEvent>(back.peer, 'message')
    await inbox.until('bob to get the 5 messages from the replica', (ms) => sent.every((id) => ms.some((m) => m.id === id)), 60_000)
    expect(inbox.items.map((m) => m.text)).toEqual(Array.from({ length: 5 }, (_, i) => `while bob was away ${i}`))
    await back.peer.stop()
    await replica.stop()
  })
})
