/**
 * The peer store's records held in memory and written back (peer-records.ts),
 * over a real LevelDB datastore in a temp directory.
 */
import { LevelDatastore } from 'datastore-level'
import { Key } from 'interface-datastore'
import { afterEach, describe, expect, it } from 'vitest'
import { PeerRecordCache } from '../src/protocol/peer-records.ts'
import { createLogger } from '../src/protocol/logger.ts'
import { tempDir } from './helpers/temp.ts'

const logger = createLogger({ level: 'silent' })
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
const text = (value: Uint8Array): string => new TextDecoder().decode(value)
const peer = (n: number): Key => new Key(`/peers/peer${n}`)

const opened: LevelDatastore[] = []
async function openStore (dir: string): Promise<LevelDatastore> {
  const store = new LevelDatastore(dir)
  await store.open()
  opened.push(store)
  return store
}

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close().catch(() => {})
})

describe('peer records written back', () => {
  it('keeps a peer record in memory until it is flushed, then on disk', async () => {
    const disk = await openStore(await tempDir('records'))
    const cache = new PeerRecordCache(disk, logger)
    await cache.put(peer(1), bytes('first'))
    await cache.put(peer(1), bytes('second'))
    expect(text(await cache.get(peer(1)))).toBe('second')
    expect(await cache.has(peer(1))).toBe(true)
    expect(await disk.has(peer(1))).toBe(false)
    await cache.flush()
    expect(text(await disk.get(peer(1)))).toBe('second')
  })

  it('writes every other key straight through', async () => {
    const disk = await openStore(await tempDir('records'))
    const cache = new PeerRecordCache(disk, logger)
    await cache.put(new Key('/dht/record/x'), bytes('dht'))
    expect(text(await disk.get(new Key('/dht/record/x')))).toBe('dht')
  })

  it('reads a record from disk once, and a deleted one is gone before and after the flush', async () => {
    const dir = await tempDir('records')
    const disk = await openStore(dir)
    await disk.put(peer(2), bytes('on disk'))
    const cache = new PeerRecordCache(disk, logger)
    expect(text(await cache.get(peer(2)))).toBe('on disk')
    await cache.delete(peer(2))
    await expect(cache.get(peer(2))).rejects.toMatchObject({ name: 'NotFoundError' })
    expect(await cache.has(peer(2))).toBe(false)
    await cache.flush()
    expect(await disk.has(peer(2))).toBe(false)
    await expect(cache.get(peer(3))).rejects.toMatchObject({ name: 'NotFoundError' })
  })

  it('shows pending records to a query, and applies a batch to both kinds of key', async () => {
    const disk = await openStore(await tempDir('records'))
    const cache = new PeerRecordCache(disk, logger)
    await cache.put(peer(4), bytes('four'))
    const batch = cache.batch()
    batch.put(peer(5), bytes('five'))
    batch.put(new Key('/other/a'), bytes('a'))
    await batch.commit()
    expect(text(await disk.get(new Key('/other/a')))).toBe('a')
    const seen: string[] = []
    for await (const { key, value } of cache.query({ prefix: '/peers' })) seen.push(`${key.toString()}=${text(value)}`)
    expect(seen.sort()).toEqual(['/peers/peer4=four', '/peers/peer5=five'])
  })

  it('survives a reopen: what was flushed at stop is read back', async () => {
    const dir = await tempDir('records')
    const first = new PeerRecordCache(await openStore(dir), logger)
    await first.put(peer(6), bytes('six'))
    await first.flush()
    await opened.pop()?.close()
    const second = new PeerRecordCache(await openStore(dir), logger)
    expect(text(await second.get(peer(6)))).toBe('six')
  })

  it('takes no record after it is closed, so nothing is left to write to the closed store', async () => {
    const dir = await tempDir('records')
    const cache = new PeerRecordCache(await openStore(dir), logger)
    await cache.put(peer(7), bytes('before'))
    await cache.close()
    await cache.put(peer(8), bytes('after'))
    await opened.pop()?.close()
    // A pending record would be written here, to the closed store, and fail.
    await expect(cache.flush()).resolves.toBeUndefined()
    const reopened = await openStore(dir)
    expect(text(await reopened.get(peer(7)))).toBe('before')
    expect(await reopened.has(peer(8))).toBe(false)
  })
})
