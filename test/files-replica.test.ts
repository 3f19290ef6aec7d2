/**
 * Files kept by a replica, which cannot read them: a 10 MiB file reaches a
 * member after its sender went offline, from the replica alone, and no
 * block the replica holds contains any of the file's bytes in clear; and a
 * file it could not fetch yet is fetched after a restart.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { LevelBlockstore } from 'blockstore-level'
import { describe, expect, it } from 'vitest'
import { createReplica, type MessageEvent } from '../src/protocol/index.ts'
import { ReplicaRecords } from '../src/protocol/replica-records.ts'
import { StateStore } from '../src/protocol/state-store.ts'
import { LogCapture } from './helpers/log-capture.ts'
import { formGroup, startPeer, startPeers } from './helpers/peers.ts'
import { allBlocks } from './helpers/plain-orbitdb.ts'
import { tempDir } from './helpers/temp.ts'
import { Inbox, pollUntil, waitFor } from './helpers/wait.ts'

async function bytesOf (source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = []
  for await (const chunk of source) chunks.push(chunk)
  return Buffer.concat(chunks)
}

describe('a replica', () => {
  it('serves a 10 MiB file to a member once its sender is gone, and holds none of its bytes in clear', async () => {
    const replicaDir = await tempDir('replica')
    const replica = await createReplica({ dataDir: replicaDir, logger: new LogCapture('warn').logger })
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const [ga, gb] = await formGroup([alice!.peer, bob!.peer])
    await ga!.addReplica(replica.link())
    await pollUntil('bob to learn of the replica', () => gb!.replicas().some((r) => r.peerId === replica.peerId))
    await bob!.peer.stop()

    const file = randomBytes(10 * 1024 * 1024)
    const kept = waitFor<string>('the replica to keep the file', (done) => {
      const onFile = (e: { root: string }): void => { done(e.root) }
      replica.on('file', onFile)
      return () => { replica.off('file', onFile) }
    }, 60_000)
    const id = await ga!.sendFile(file, { name: 'big.bin', type: 'application/octet-stream', text: 'while you were away' })
    const root = await kept
    await alice!.peer.stop()

    // Bob comes back with no bootstrap: alice is gone, the replica is all there is.
    const back = await startPeer({ dataDir: bob!.dataDir })
    const inbox = new Inbox<MessageEvent>(back.peer, 'message')
    const [message] = await inbox.until('bob to get the message from the replica', (ms) => ms.some((m) => m.id === id), 60_000)
    expect(message!.files[0]).toMatchObject({ name: 'big.bin', size: file.length, root })
    expect(back.peer.connectedPeers()).not.toContain(alice!.peer.peerId)
    expect((await bytesOf(message!.files[0]!.read({ signal: AbortSignal.timeout(60_000) }))).equals(file)).toBe(true)
    await back.peer.stop()
    await replica.stop()

    // Everything the replica holds, blocks and log entries, against windows of the file's bytes.
    const held: Uint8Array[] = []
    const blocks = new LevelBlockstore(join(replicaDir, 'ipfs', 'blocks'))
    await blocks.open()
    let heldBytes = 0
    for await (const { bytes } of allBlocks(blocks)) {
      held.push(bytes)
      heldBytes += bytes.length
    }
    await blocks.close()
    const state = await StateStore.open(replicaDir)
    for await (const { bytes } of state.entries()) held.push(bytes)
    await state.close()
    // It does hold the file, encrypted.
    expect(heldBytes).toBeGreaterThan(file.length)
    const windows = Array.from({ length: 16 }, (_, i) => file.subarray(i * 655_000, i * 655_000 + 64))
    for (const bytes of held) {
      for (const window of windows) expect(Buffer.from(bytes).includes(window)).toBe(false)
    }
  })

  it('goes on fetching after a restart a file an entry named while nobody could serve it', async () => {
    const replicaDir = await tempDir('replica')
    let replica = await createReplica({ dataDir: replicaDir, logger: new LogCapture('warn').logger })
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const [ga, gb] = await formGroup([alice!.peer, bob!.peer])
    await ga!.addReplica(replica.link())
    await pollUntil('bob to learn of the replica', () => gb!.replicas().some((r) => r.peerId === replica.peerId))
    await replica.stop()

    // Sent while the replica is down; bob has the entry, and not the file's blocks (he does not read it).
    const inbox = new Inbox<MessageEvent>(bob!.peer, 'message')
    const id = await ga!.sendFile(randomBytes(300_000), { name: 'later.bin', type: 'application/octet-stream' })
    const [message] = await inbox.until('bob to get the message', (ms) => ms.some((m) => m.id === id))
    await alice!.peer.stop()

    // The replica takes the entry from bob, and cannot fetch the file: nobody holds it.
    replica = await createReplica({ dataDir: replicaDir, logger: new LogCapture('warn').logger })
    await waitFor('the replica to take the entry from bob', (done) => {
      const onEntry = (e: { hash: string }): void => { if (e.hash === id) done(true) }
      replica.on('entry', onEntry)
      return () => { replica.off('entry', onEntry) }
    }, 60_000)
    await replica.stop()
    const state = await StateStore.open(replicaDir)
    expect([...(await new ReplicaRecords(state).wantedFiles()).keys()]).toEqual([message!.files[0]!.root])
    await state.close()

    // Restarted, it fetches it once the sender is back: from its records, not from the entry, which it holds already.
    replica = await createReplica({ dataDir: replicaDir, logger: new LogCapture('warn').logger })
    const kept = waitFor<string>('the replica to keep the file', (done) => {
      const onFile = (e: { root: string }): void => { done(e.root) }
      replica.on('file', onFile)
      return () => { replica.off('file', onFile) }
    }, 60_000)
    await startPeer({ dataDir: alice!.dataDir })
    expect(await kept).toBe(message!.files[0]!.root)
    await replica.stop()
    const after = await StateStore.open(replicaDir)
    expect((await new ReplicaRecords(after).wantedFiles()).size).toBe(0)
    await after.close()
  })
})
