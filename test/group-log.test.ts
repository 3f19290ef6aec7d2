import * as dagCbor from '@ipld/dag-cbor'
import { Entry } from '@orbitdb/core'
import { describe, expect, it } from 'vitest'
import { bytesToHex, generateSigningKeyPair } from '../src/protocol/crypto.ts'
import { EntryCache } from '../src/protocol/entry-cache.ts'
import { GroupLog, type GroupLogDeps } from '../src/protocol/group-log.ts'
import { groupIdentity, type BlockStore } from '../src/protocol/log-manifest.ts'
import { createEntry, decodeEntry, groupPayload, HashedBytes, isSignedBy, type StoredEntry } from '../src/protocol/log-entry.ts'
import { StateStore } from '../src/protocol/state-store.ts'
import { tempDir } from './helpers/temp.ts'

/** A blockstore in memory: the log keeps its entries in the state database, blocks only for manifests. */
function memoryBlocks (): BlockStore {
  const blocks = new Map<string, Uint8Array>()
  return {
    get: async (cid) => blocks.get(cid.toString()),
    has: async (cid) => blocks.has(cid.toString()),
    put: async (cid, bytes) => { blocks.set(cid.toString(), bytes) }
  }
}

async function openLog (signing = generateSigningKeyPair()): Promise<{ log: GroupLog, context: GroupLogDeps, close: () => Promise<void> }> {
  const state = await StateStore.open(await tempDir('log'))
  const context = { state, blocks: memoryBlocks(), cache: new EntryCache() }
  const log = await GroupLog.open(context, 'test-log', signing)
  return { log, context, close: async () => { await log.close(); await state.close() } }
}

describe('log entries', () => {
  it('are made and read byte for byte as OrbitDB makes and reads them', async () => {
    const signing = generateSigningKeyPair()
    const ours = await createEntry(signing, { id: '/orbitdb/zdpuTest', payload: groupPayload(new Uint8Array([1, 2, 3])), next: [], refs: [], time: 1 })
    // OrbitDB's decoder reads ours, hashes it the same, and its verifier accepts the signature.
    const decoded = await Entry.decode(ours.bytes)
    expect(decoded.hash).toBe(ours.hash)
    expect(await Entry.verify(groupIdentity(signing), decoded)).toBe(true)
    const reencoded = await Entry.encode(decoded)
    expect(reencoded.hash).toBe(ours.hash)
    expect(bytesToHex(reencoded.bytes)).toBe(bytesToHex(ours.bytes))
    // Our check of the signature agrees.
    expect(isSignedBy(await decodeEntry(ours.bytes), bytesToHex(signing.publicKey))).toBe(true)
    expect(isSignedBy(await decodeEntry(ours.bytes), bytesToHex(generateSigningKeyPair().publicKey))).toBe(false)
  })

  it('are encoded as CBOR encodes the whole entry, whatever the lengths of their fields', async () => {
    const signing = generateSigningKeyPair()
    for (const idLength of [1, 23, 24, 255, 256, 70_000]) {
      const id = `/orbitdb/${'z'.repeat(idLength)}`
      const next = Array.from({ length: idLength % 5 }, (_, i) => `zdpu${i}`)
      const entry = await createEntry(signing, { id, payload: groupPayload(new Uint8Array(idLength % 700).fill(7), ['bafy1']), next, refs: next.slice(1), time: idLength })
      const { hash: _hash, bytes, ...fields } = entry
      expect(bytesToHex(bytes), `an id of ${id.length} characters`).toBe(bytesToHex(dagCbor.encode(fields)))
      // Ids past 512 characters are refused on the way in (the encoding above still holds for them).
      if (id.length <= 512) expect(isSignedBy(await decodeEntry(bytes), bytesToHex(signing.publicKey))).toBe(true)
    }
  })

  it('are found signed only by the key that signed them, however often they were checked before', async () => {
    const signing = generateSigningKeyPair()
    const key = bytesToHex(signing.publicKey)
    const entry = await decodeEntry(await HashedBytes.of((await createEntry(signing, { id: '/orbitdb/zdpuTest', payload: groupPayload(new Uint8Array([1])), next: [], refs: [], time: 1 })).bytes))
    expect(entry.hash).toBe((await decodeEntry(entry.bytes)).hash)
    expect(isSignedBy(entry, key)).toBe(true)
    expect(isSignedBy(entry, key)).toBe(true)
    expect(isSignedBy(entry, bytesToHex(generateSigningKeyPair().publicKey))).toBe(false)
    // A copy with another payload or signature, or another entry claiming the key, is checked for itself.
    expect(isSignedBy({ ...entry, payload: groupPayload(new Uint8Array([2])) }, key)).toBe(false)
    const forged = await createEntry(generateSigningKeyPair(), { id: '/orbitdb/zdpuTest', payload: groupPayload(new Uint8Array([1])), next: [], refs: [], time: 1 })
    expect(isSignedBy({ ...entry, sig: forged.sig }, key)).toBe(false)
    expect(isSignedBy({ ...forged, key, identity: key }, key)).toBe(false)
  })

  it('refuse bytes that are not an entry, with the reason', async () => {
    await expect(decodeEntry(new Uint8Array([0xa1, 0x61, 0x76, 0x02]))).rejects.toThrow(/not a log entry/)
  })
})

describe('a group log', () => {
  it('joins an entry only once its ancestors are in, in causal order, and names what is missing meanwhile', async () => {
    const signing = generateSigningKeyPair()
    const writer = await openLog(signing)
    const reader = await openLog(signing)
    try {
      const written = await writer.log.append([1, 2, 3].map((n) => new Uint8Array([n])))
      const [first, second, third] = written as [StoredEntry, StoredEntry, StoredEntry]
      // The newest first: nothing can be joined, the missing parent is named.
      const early = await reader.log.join([third])
      expect(early.joined).toEqual([])
      expect(early.missing).toEqual([second.hash])
      expect(reader.log.missing()).toEqual([second.hash])
      const updates: string[][] = []
      reader.log.on('update', (entries) => { updates.push(entries.map((e) => e.hash)) })
      // The rest, out of order: all three are joined, parents first.
      const rest = await reader.log.join([second, first])
      expect(rest.joined.map((e) => e.hash)).toEqual([first.hash, second.hash, third.hash])
      expect(updates).toEqual([[first.hash, second.hash, third.hash]])
      expect(reader.log.heads()).toEqual([third.hash])
      expect(reader.log.missing()).toEqual([])
      expect(await reader.log.has(first.hash)).toBe(true)
      // Joining again does nothing.
      expect((await reader.log.join([first, third])).joined).toEqual([])
    } finally {
      await writer.close()
      await reader.close()
    }
  })

  it('rejects entries signed by another key or belonging to another log, and keeps going', async () => {
    const signing = generateSigningKeyPair()
    const { log, close } = await openLog(signing)
    try {
      const forged = await createEntry(generateSigningKeyPair(), { id: log.address, payload: groupPayload(new Uint8Array([9])), next: [], refs: [], time: 1 })
      const elsewhere = await createEntry(signing, { id: '/orbitdb/zdpuElsewhere', payload: groupPayload(new Uint8Array([9])), next: [], refs: [], time: 1 })
      const good = await createEntry(signing, { id: log.address, payload: groupPayload(new Uint8Array([1])), next: [], refs: [], time: 1 })
      const outcome = await log.join([forged, elsewhere, good])
      expect(outcome.rejected.map((r) => r.reason).sort()).toEqual(['belongs to another log', 'not signed by the group'])
      expect(outcome.joined.map((e) => e.hash)).toEqual([good.hash])
      expect(await log.has(forged.hash)).toBe(false)
    } finally {
      await close()
    }
  })

  it('refuses an entry whose clock is not past its parents\', and knows the entries it holds when they come again, after a restart too', async () => {
    const signing = generateSigningKeyPair()
    const state = await StateStore.open(await tempDir('log'))
    const context = { state, blocks: memoryBlocks(), cache: new EntryCache() }
    const log = await GroupLog.open(context, 'clocks', signing)
    const [first, second, third] = await log.append([1, 2, 3].map((n) => new Uint8Array([n]))) as [StoredEntry, StoredEntry, StoredEntry]
    // Signed by the group, parents all in, but a clock that does not move past them: it would put an entry the log holds past its heads.
    const behind = await createEntry(signing, { id: log.address, payload: groupPayload(new Uint8Array([4])), next: [third.hash], refs: [], time: 3 })
    const outcome = await log.join([behind])
    expect(outcome.joined).toEqual([])
    expect(outcome.rejected).toEqual([{ hash: behind.hash, reason: 'its clock is not past its parents\'' }])
    expect(log.heads()).toEqual([third.hash])
    expect(await log.has(behind.hash)).toBe(false)
    await log.close()

    // A fresh cache: held entries are known from disk, and joining them again changes nothing.
    const again = await GroupLog.open({ ...context, cache: new EntryCache() }, 'clocks', signing)
    expect((await again.join([first, second, third])).joined).toEqual([])
    expect(again.heads()).toEqual([third.hash])
    const next = await createEntry(signing, { id: again.address, payload: groupPayload(new Uint8Array([5])), next: [third.hash], refs: [], time: 4 })
    expect((await again.join([next, first])).joined.map((e) => e.hash)).toEqual([next.hash])
    expect(again.heads()).toEqual([next.hash])
    await again.close()
    await state.close()
  })

  it('tells entries joined this session from new ones without the disk, and asks it for those from before', async () => {
    const signing = generateSigningKeyPair()
    const state = await StateStore.open(await tempDir('log'))
    const context = { state, blocks: memoryBlocks(), cache: new EntryCache() }
    const before = await GroupLog.open(context, 'held', signing)
    const [old] = await before.append([new Uint8Array([1])]) as [StoredEntry]
    await before.close()

    // A cache too small to hold an entry: what the log knows without the disk is its own.
    const log = await GroupLog.open({ ...context, cache: new EntryCache(1) }, 'held', signing)
    const reads: string[][] = []
    const entriesBytes = state.entriesBytes.bind(state)
    state.entriesBytes = async (hashes) => { reads.push(hashes); return await entriesBytes(hashes) }
    const ours = await log.append([2, 3, 4].map((n) => new Uint8Array([n])))
    // Another writer's entries, written before it saw ours: their clocks are not past the log's time.
    const theirs = await createEntry(signing, { id: log.address, payload: groupPayload(new Uint8Array([5])), next: [old.hash], refs: [], time: 2 })
    const unseen = await createEntry(signing, { id: log.address, payload: groupPayload(new Uint8Array([6])), next: [theirs.hash], refs: [], time: 3 })
    expect((await log.join([theirs])).joined.map((e) => e.hash)).toEqual([theirs.hash])

    const held = await log.holds([theirs, unseen, ...ours])
    expect([...held].sort()).toEqual([theirs.hash, ...ours.map((e) => e.hash)].sort())
    expect(reads).toEqual([])
    // One from before the log was opened is looked up.
    expect([...await log.holds([old])]).toEqual([old.hash])
    expect(reads).toEqual([[old.hash]])
    await log.close()
    await state.close()
  })

  it('reads the disk once for an entry it lacks, until it takes it', async () => {
    const signing = generateSigningKeyPair()
    const state = await StateStore.open(await tempDir('log'))
    // A cache too small to hold an entry: what the log tells without the disk, it knows itself.
    const log = await GroupLog.open({ state, blocks: memoryBlocks(), cache: new EntryCache(1) }, 'absent', signing)
    const reads: string[] = []
    const entryBytes = state.entryBytes.bind(state)
    state.entryBytes = async (hash) => { reads.push(hash); return await entryBytes(hash) }
    const [first] = await log.append([new Uint8Array([1])]) as [StoredEntry]
    const lacking = await createEntry(signing, { id: log.address, payload: groupPayload(new Uint8Array([2])), next: [first.hash], refs: [], time: 2 })
    const child = await createEntry(signing, { id: log.address, payload: groupPayload(new Uint8Array([3])), next: [lacking.hash], refs: [], time: 3 })
    expect(await log.has(lacking.hash)).toBe(false)
    expect(await log.has(lacking.hash)).toBe(false)
    expect(await log.want([lacking.hash])).toBe(1)
    // Its child waits for it: that asks about it again.
    expect((await log.join([child])).missing).toEqual([lacking.hash])
    expect(reads).toEqual([lacking.hash])

    expect((await log.join([lacking])).joined.map((e) => e.hash)).toEqual([lacking.hash, child.hash])
    expect((await log.get(lacking.hash))?.hash).toBe(lacking.hash)
    expect(reads).toEqual([lacking.hash, lacking.hash])
    await log.close()
    await state.close()
  })

  it('points refs back along the entries alone: peers that got the same entries in another order write the same refs', async () => {
    const signing = generateSigningKeyPair()
    const logs = await Promise.all([0, 1, 2, 3].map(async () => await openLog(signing)))
    const [first, second, readerA, readerB] = logs as [Awaited<ReturnType<typeof openLog>>, Awaited<ReturnType<typeof openLog>>, Awaited<ReturnType<typeof openLog>>, Awaited<ReturnType<typeof openLog>>]
    try {
      // A common past, then two writers at once, each unaware of the other.
      const base = await first.log.append(Array.from({ length: 10 }, (_, i) => new Uint8Array([i])))
      await second.log.join(base)
      const ours = await first.log.append(Array.from({ length: 8 }, (_, i) => new Uint8Array([100 + i])))
      const theirs = await second.log.append(Array.from({ length: 8 }, (_, i) => new Uint8Array([200 + i])))
      // Two readers get both branches, in opposite orders.
      await readerA.log.join(base)
      await readerB.log.join(base)
      for (const entry of [...ours, ...theirs]) await readerA.log.join([entry])
      for (const entry of [...theirs, ...ours]) await readerB.log.join([entry])
      expect(readerA.log.heads().sort()).toEqual(readerB.log.heads().sort())
      const [a] = await readerA.log.append([new Uint8Array([1])]) as [StoredEntry]
      const [b] = await readerB.log.append([new Uint8Array([1])]) as [StoredEntry]
      expect(a.next.sort()).toEqual(b.next.sort())
      expect(a.refs).toEqual(b.refs)
      // They point back into the past, on one branch, at distances 2, 4, 8 and 16.
      expect(a.refs).toHaveLength(4)
      const known = new Set([...base, ...ours, ...theirs].map((entry) => entry.hash))
      for (const ref of a.refs) expect(known.has(ref)).toBe(true)
    } finally {
      for (const log of logs) await log.close()
    }
  })

  it('keeps its heads and entries across a restart', async () => {
    const signing = generateSigningKeyPair()
    const state = await StateStore.open(await tempDir('log'))
    const context = { state, blocks: memoryBlocks(), cache: new EntryCache() }
    const log = await GroupLog.open(context, 'kept', signing)
    const [a, b] = await log.append([new Uint8Array([1]), new Uint8Array([2])]) as [StoredEntry, StoredEntry]
    await log.close()
    // A fresh cache: what it reads comes from disk.
    const again = await GroupLog.open({ ...context, cache: new EntryCache() }, 'kept', signing)
    expect(again.address).toBe(log.address)
    expect(again.heads()).toEqual([b.hash])
    expect(new Uint8Array((await again.get(a.hash))?.bytes ?? [])).toEqual(new Uint8Array(a.bytes))
    const [c] = await again.append([new Uint8Array([3])]) as [StoredEntry]
    expect(c.next).toEqual([b.hash])
    expect(c.clock.time).toBe(3)
    await again.close()
    await state.close()
  })
})
