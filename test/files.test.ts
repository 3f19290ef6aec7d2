/**
 * Files between real peers: stored encrypted in the sender's blockstore,
 * fetched over bitswap, checked and decrypted as they are read; the size
 * limit; and a peer holding hostile DAGs (a plain Helia node) whose files
 * fail to read, each with its reason.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { unixfs } from '@helia/unixfs'
import { multiaddr } from '@multiformats/multiaddr'
import { LevelBlockstore } from 'blockstore-level'
import { describe, expect, it } from 'vitest'
import { AbortError, FileReadError, FileTooLargeError, InvalidOptionError, keyToId, type FileReference, type MemberJoinedEvent, type MessageEvent, type Peer } from '../src/protocol/index.ts'
import { AppMessageType } from '../src/protocol/app-messages.ts'
import { sealedFileSize, sealFile } from '../src/protocol/file-cipher.ts'
import { FileRecords } from '../src/protocol/file-records.ts'
import { StateStore } from '../src/protocol/state-store.ts'
import { HostileMember } from './helpers/hostile-member.ts'
import { formGroup, startPeer, startPeers } from './helpers/peers.ts'
import { allBlocks, startPlainOrbitDB } from './helpers/plain-orbitdb.ts'
import { tempDir } from './helpers/temp.ts'
import { Inbox } from './helpers/wait.ts'

async function bytesOf (source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = []
  for await (const chunk of source) chunks.push(chunk)
  return Buffer.concat(chunks)
}

/** How many blocks a data directory holds: stored files', and its logs' manifests (log entries are in the state database). */
async function blocksIn (dataDir: string): Promise<number> {
  const blocks = new LevelBlockstore(join(dataDir, 'ipfs', 'blocks'))
  await blocks.open()
  let count = 0
  for await (const _block of allBlocks(blocks)) count++
  await blocks.close()
  return count
}

async function stagedIn (dataDir: string): Promise<number> {
  const state = await StateStore.open(dataDir)
  const staged = await new FileRecords(state).staged()
  await state.close()
  return staged.length
}

async function readError (peer: Peer, reference: FileReference): Promise<FileReadError> {
  const err = await bytesOf(peer.files.read(reference, { signal: AbortSignal.timeout(20_000) })).then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(FileReadError)
  return err as FileReadError
}

describe('files', () => {
  it('reach a member in a message, with their name, type, size and preview, and read back as sent', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const [ga] = await formGroup([alice!.peer, bob!.peer])
    const inbox = new Inbox<MessageEvent>(bob!.peer, 'message')
    const report = randomBytes(3 * 1024 * 1024 + 123)
    const image = randomBytes(70_000)
    const preview = randomBytes(2_000)

    const id = await ga!.sendFile(report, { name: '../../etc/report.pdf', type: 'application/pdf', text: 'the report' })
    const stored = await alice!.peer.files.store(image, { name: 'cat.png', type: 'image/png', preview })
    await ga!.send({ text: 'and a cat', files: [stored] })

    const [first, second] = await inbox.count(2, 'bob to get both messages')
    expect(first!.id).toBe(id)
    expect(first!.text).toBe('the report')
    expect(first!.files.map(({ name, type, size, preview }) => ({ name, type, size, preview }))).toEqual([{ name: 'report.pdf', type: 'application/pdf', size: report.length, preview: undefined }])
    expect(second!.files[0]).toMatchObject({ name: 'cat.png', type: 'image/png', size: image.length, root: stored.root })
    expect(Buffer.from(second!.files[0]!.preview!).equals(preview)).toBe(true)

    expect((await bytesOf(first!.files[0]!.read())).equals(report)).toBe(true)
    expect((await bytesOf(second!.files[0]!.read({ signal: AbortSignal.timeout(20_000) }))).equals(image)).toBe(true)
    // Text messages carry none.
    await ga!.send({ text: 'no files' })
    const [, , plain] = await inbox.count(3)
    expect(plain!.files).toEqual([])
  })

  it('are refused past the size limit, or past the size they were said to have, and leave nothing behind', async () => {
    const alice = await startPeer({ maxFileSize: 4 * 1024 * 1024 })
    expect(alice.peer.files.maxFileSize).toBe(4 * 1024 * 1024)
    const big = randomBytes(4 * 1024 * 1024 + 1)
    await expect(alice.peer.files.store(big, { name: 'big.bin', type: 'application/octet-stream' })).rejects.toBeInstanceOf(FileTooLargeError)
    await expect(alice.peer.files.store(big, { name: 'big.bin', type: 'application/octet-stream', size: 1000 })).rejects.toBeInstanceOf(FileTooLargeError)
    // A stream that says it is smaller than it is: caught as the bytes come, after two blocks were written.
    async function * lying (): AsyncGenerator<Uint8Array> { for (let i = 0; i < 16; i++) yield randomBytes(256 * 1024) }
    const err = await alice.peer.files.store(lying(), { name: 'liar.bin', type: 'application/octet-stream', size: 2.5 * 1024 * 1024 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(FileTooLargeError)
    expect((err as FileTooLargeError).code).toBe('ERR_FILE_TOO_LARGE')
    await expect(alice.peer.files.store(randomBytes(10), { name: '..', type: 'text/plain' })).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(alice.peer.files.store(randomBytes(10), { name: 'a.txt', type: 'text/plain', preview: randomBytes(10) })).rejects.toThrow(/only images/)
    const aborted = new AbortController()
    aborted.abort()
    await expect(alice.peer.files.store(randomBytes(10), { name: 'a.txt', type: 'text/plain' }, { signal: aborted.signal })).rejects.toBeInstanceOf(AbortError)
    await alice.peer.stop()
    expect(await blocksIn(alice.dataDir)).toBe(0)
    expect(await stagedIn(alice.dataDir)).toBe(0)
  })

  it('stay after a restart once their message is sent; a file stored and never sent is deleted at start', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const [ga] = await formGroup([alice!.peer, bob!.peer])
    const sent = randomBytes(1_500_000)
    await ga!.sendFile(sent, { name: 'kept.bin', type: 'application/octet-stream' })
    await alice!.peer.files.store(randomBytes(2_500_000), { name: 'never-sent.bin', type: 'application/octet-stream' })
    await alice!.peer.stop()
    const before = await blocksIn(alice!.dataDir)
    expect(await stagedIn(alice!.dataDir)).toBe(1)

    const back = await startPeer({ dataDir: alice!.dataDir })
    await back.peer.stop()
    // The unsent file's blocks (its 1 MiB leaves and their root) are gone; the sent one's stay.
    expect(await blocksIn(alice!.dataDir)).toBe(before - (Math.ceil(sealedFileSize(2_500_000) / (1024 * 1024)) + 1))
    expect(await stagedIn(alice!.dataDir)).toBe(0)

    // Bob reads the kept one from alice, back again.
    const inbox = new Inbox<MessageEvent>(bob!.peer, 'message')
    await startPeer({ dataDir: alice!.dataDir })
    const [message] = await inbox.count(1)
    expect((await bytesOf(message!.files[0]!.read({ signal: AbortSignal.timeout(30_000) }))).equals(sent)).toBe(true)
  })

  it('are refused in a message whose entry does not name them outside the encryption, where replicas look', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const [ga] = await formGroup([alice!.peer, bob!.peer])
    const inbox = new Inbox<MessageEvent>(bob!.peer, 'message')
    const joins = new Inbox<MemberJoinedEvent>(bob!.peer, 'memberJoined')
    const mallory = await HostileMember.join(ga!.invitation(), ga!.logAddresses, alice!.peer.multiaddrs[0] as string, await tempDir('mallory'))
    try {
      await mallory.announce()
      await mallory.shareChainKey([alice!.peer.accountId, bob!.peer.accountId])
      await joins.until('mallory to join', (items) => items.some((e) => e.member.account === keyToId(mallory.account.publicKey)))
      const file = await alice!.peer.files.store(randomBytes(1000), { name: 'hidden.bin', type: 'application/octet-stream' })
      // A stock OrbitDB add: the payload holds the sealed value and no `files`.
      await mallory.append(mallory.seal({ type: AppMessageType.UserMessage, text: 'a file replicas would not keep', sentAt: Date.now(), files: [file] }))
      const last = await mallory.append(mallory.text('plain text'))
      await inbox.until('mallory\'s plain text', (ms) => ms.some((m) => m.id === last))
      expect(inbox.items.map((m) => m.text)).toEqual(['plain text'])
      expect(bob!.log.find((l) => l.msg === 'dropped a message entry' && l.reason === 'malformed' && String(l.detail).includes('does not name'))).toHaveLength(1)
    } finally {
      await mallory.stop()
    }
  })

  it('fail to read with a wrong key, when truncated or altered, when their DAG is larger than said, and when the wait is aborted', async () => {
    const bob = await startPeer()
    const hostile = await startPlainOrbitDB(await tempDir('hostile'))
    await hostile.libp2p.dial(multiaddr(bob.peer.multiaddrs[0] as string))
    const fs = unixfs(hostile.helia)
    const key = randomBytes(32)
    const plaintext = randomBytes(200 * 1024)
    const sealed = await bytesOf(sealFile([plaintext], key, { maxSize: 1 << 30 }))
    const store = async (bytes: Uint8Array): Promise<string> => (await fs.addBytes(bytes)).toString()
    const reference = (root: string, size: number, withKey: Uint8Array = key): FileReference => ({ root, key: withKey, size, type: 'application/octet-stream', name: 'x.bin' })

    const root = await store(sealed)
    // The hostile peer serves the real file too: it reads, so the failures below are the DAGs'.
    expect((await bytesOf(bob.peer.files.read(reference(root, plaintext.length), { signal: AbortSignal.timeout(20_000) }))).equals(plaintext)).toBe(true)
    expect((await readError(bob.peer, reference(root, plaintext.length, randomBytes(32)))).reason).toBe('wrong-key')

    // The last of its four segments cut off, and the size in the reference cut to match.
    const segment = 64 * 1024 + 16
    expect((await readError(bob.peer, reference(await store(sealed.subarray(0, 3 * segment)), 3 * 64 * 1024))).reason).toBe('truncated')
    const altered = Buffer.from(sealed)
    altered[segment + 5] = (altered[segment + 5] as number) ^ 0x80
    expect((await readError(bob.peer, reference(await store(altered), plaintext.length))).reason).toBe('tampered')
    // A reference that says 1000 bytes, to a DAG of 3 MiB: refused before it is fetched.
    expect((await readError(bob.peer, reference(await store(randomBytes(3 * 1024 * 1024)), 1000))).reason).toBe('too-large')
    expect((await readError(bob.peer, reference(root, 30 * 1024 * 1024))).reason).toBe('too-large')

    // Nobody holds this one: the read waits until its signal aborts.
    const nowhere = await startPeer()
    const missing = await nowhere.peer.files.store(randomBytes(100), { name: 'm.bin', type: 'application/octet-stream' })
    await nowhere.peer.stop()
    const started = Date.now()
    await expect(bytesOf(bob.peer.files.read(missing, { signal: AbortSignal.timeout(1_000) }))).rejects.toBeInstanceOf(AbortError)
    expect(Date.now() - started).toBeLessThan(10_000)
    await hostile.stop()
  })
})
