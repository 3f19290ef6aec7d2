/**
 * Nothing half-stored after a crash: a peer in its own process is killed
 * with SIGKILL in the middle of storing a 25 MiB file; at the next start the
 * blocks it had written are deleted, and a file it had sent stays.
 */
import { join } from 'node:path'
import { LevelBlockstore } from 'blockstore-level'
import { CID } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'
import { FileRecords } from '../src/protocol/file-records.ts'
import { StateStore } from '../src/protocol/state-store.ts'
import { PeerProcess } from './helpers/peer-process.ts'
import { startPeer } from './helpers/peers.ts'
import { allBlocks } from './helpers/plain-orbitdb.ts'
import { tempDir } from './helpers/temp.ts'
import { waitFor } from './helpers/wait.ts'

/** The blocks a data directory holds, by multihash (the blockstore keys them so: CIDs of any codec with the same hash are one block). */
async function blocksIn (dataDir: string): Promise<Set<string>> {
  const blocks = new LevelBlockstore(join(dataDir, 'ipfs', 'blocks'))
  await blocks.open()
  const found = new Set<string>()
  for await (const { cid } of allBlocks(blocks)) found.add(hashOf(cid))
  await blocks.close()
  return found
}

function hashOf (cid: string): string {
  return Buffer.from(CID.parse(cid).multihash.bytes).toString('hex')
}

async function stagedIn (dataDir: string): Promise<Awaited<ReturnType<FileRecords['staged']>>> {
  const state = await StateStore.open(dataDir)
  const staged = await new FileRecords(state).staged()
  await state.close()
  return staged
}

describe('a peer killed while it stores a file', () => {
  it('deletes at its next start the blocks it had written, and keeps the file it had sent', async () => {
    const dataDir = await tempDir('files-crash')
    const child = await PeerProcess.start({ dataDir, displayName: 'alice' })
    const { id } = await child.call<{ id: string }>('createGroup', 'g')
    await child.call('sendFile', id, 1_500_000)
    const progress = waitFor('the child to have given 8 MiB of the file', (done) => { child.once('fileProgress', done); return () => child.off('fileProgress', done) })
    await child.call('storeFileSlowly', 25 * 1024 * 1024, 8 * 1024 * 1024)
    await progress
    child.child.kill('SIGKILL')
    expect((await child.exited).signal).toBe('SIGKILL')

    // Killed in the middle: the file is staged without a root, with the blocks written so far.
    const staged = await stagedIn(dataDir)
    expect(staged).toHaveLength(1)
    expect(staged[0]!.root).toBeUndefined()
    expect(staged[0]!.blocks.length).toBeGreaterThanOrEqual(4)
    const afterKill = await blocksIn(dataDir)
    const written = staged[0]!.blocks.map(hashOf).filter((hash) => afterKill.has(hash))
    expect(written.length).toBeGreaterThanOrEqual(4)

    const back = await startPeer({ dataDir })
    await back.peer.stop()
    expect(await stagedIn(dataDir)).toEqual([])
    // Those blocks, and only those, are gone: the logs' and the sent file's stay.
    const left = await blocksIn(dataDir)
    for (const hash of written) expect(left.has(hash)).toBe(false)
    expect(left.size).toBe(afterKill.size - written.length)
  })
})
