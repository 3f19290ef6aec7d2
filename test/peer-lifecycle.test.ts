import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { describe, expect, it } from 'vitest'
import { encodeCbor } from '../src/protocol/encoding.ts'
import { createPeer, DataDirectoryError, InvalidLinkError, InvalidOptionError, KeystoreError, type MessageEvent } from '../src/protocol/index.ts'
import { PeerProcess } from './helpers/peer-process.ts'
import { formGroup, startPeer, startPeers, testLogger } from './helpers/peers.ts'
import { tempDir } from './helpers/temp.ts'
import { Inbox } from './helpers/wait.ts'

describe('a peer\'s data directory', () => {
  it('is the same account, with the same groups, after a restart; another directory is another account', async () => {
    const first = await startPeer({ displayName: 'alice' })
    const group = await first.peer.createGroup({ name: 'kept' })
    const { accountId, deviceId } = first.peer
    const addresses = group.logAddresses
    await first.peer.stop()

    for (const name of ['account.key', 'device.key']) {
      expect((await stat(join(first.dataDir, 'keys', name))).mode & 0o777).toBe(0o600)
    }
    expect((await stat(join(first.dataDir, 'keys'))).mode & 0o777).toBe(0o700)
    expect((await stat(join(first.dataDir, 'state'))).mode & 0o777).toBe(0o700)

    const again = await startPeer({ dataDir: first.dataDir })
    expect(again.peer.accountId).toBe(accountId)
    expect(again.peer.deviceId).toBe(deviceId)
    expect(again.peer.groups().map((g) => g.id)).toEqual([group.id])
    expect(again.peer.group(group.id)?.logAddresses).toEqual(addresses)
    expect(again.peer.group(group.id)?.name).toBe('kept')

    const other = await startPeer()
    expect(other.peer.accountId).not.toBe(accountId)
    await again.peer.stop()
    await other.peer.stop()
  })

  it('is refused to a second peer while the first runs', async () => {
    const running = await startPeer()
    await expect(createPeer({ dataDir: running.dataDir, logger: testLogger })).rejects.toBeInstanceOf(DataDirectoryError)
    await running.peer.stop()
  })

  it('is refused, with a reason, when a newer bertybot wrote it', async () => {
    const dir = await tempDir()
    await (await createPeer({ dataDir: dir, logger: testLogger })).stop()
    const db = new ClassicLevel<string, Uint8Array>(join(dir, 'state'), { valueEncoding: 'view' })
    await db.put('format', new TextEncoder().encode('99'))
    await db.close()
    await expect(createPeer({ dataDir: dir, logger: testLogger })).rejects.toThrow(/newer bertybot.*upgrade/)
  })

  it('is read as an older bertybot wrote it, then labelled with its own format, so that an older bertybot refuses it', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const [ga] = await formGroup([alice!.peer, bob!.peer])
    const messages = new Inbox<MessageEvent>(bob!.peer, 'message')
    const old = await ga!.send({ text: 'from before the upgrade' })
    await messages.until('bob to handle it', (ms) => ms.some((m) => m.id === old))
    await bob!.peer.stop()

    // As format 1 wrote it: the format, and the message's status without its author.
    const db = new ClassicLevel<string, Uint8Array>(join(bob!.dataDir, 'state'), { valueEncoding: 'view' })
    expect(new TextDecoder().decode(await db.get('format'))).toBe('3')
    await db.put('format', new TextEncoder().encode('1'))
    await db.sublevel<string, Uint8Array>('status', { valueEncoding: 'view' }).put(`${ga!.id}/messages/${old}`, encodeCbor('handled'))
    await db.close()

    const again = await startPeer({ dataDir: bob!.dataDir })
    const later = new Inbox<MessageEvent>(again.peer, 'message')
    // Its author was not kept: an edit of it is dropped, as one of a message this peer has no author for.
    await ga!.send({ kind: 'edit', target: old, text: 'edited after the upgrade' })
    await again.log.waitForLine('the edit dropped', (l) => l.reason === 'unknown-target')
    const next = await ga!.send({ text: 'after the upgrade' })
    await later.until('the next message', (ms) => ms.some((m) => m.id === next))
    expect(later.items.map((m) => m.text)).toEqual(['after the upgrade'])
    await again.peer.stop()
    const reopened = new ClassicLevel<string, Uint8Array>(join(bob!.dataDir, 'state'), { valueEncoding: 'view' })
    expect(new TextDecoder().decode(await reopened.get('format'))).toBe('3')
    await reopened.close()
  })

  it('refuses a damaged key file with a clear error instead of making a new account', async () => {
    const dir = await tempDir()
    const peer = await createPeer({ dataDir: dir, logger: testLogger })
    await peer.stop()
    const path = join(dir, 'keys', 'account.key')
    await writeFile(path, (await readFile(path, 'utf8')).slice(0, 20))
    await expect(createPeer({ dataDir: dir, logger: testLogger })).rejects.toBeInstanceOf(KeystoreError)
  })
})

describe('a peer opening groups', () => {
  it('says so for each group it creates or joins, whatever the way', async () => {
    const alice = await startPeer({ displayName: 'alice' })
    const bob = await startPeer({ displayName: 'bob' })
    const opened: string[] = []
    bob.peer.on('groupOpened', ({ group }) => { opened.push(group.id) })
    const own = await bob.peer.createGroup({ name: 'own' })
    const theirs = await alice.peer.createGroup({ name: 'theirs' })
    const joined = await bob.peer.joinGroup(theirs.invitation())
    expect(joined.id).toBe(theirs.id)
    expect(opened).toEqual([own.id, theirs.id])
  })
})

describe('bad input at the peer\'s API', () => {
  it('gets an error that says what is wrong', async () => {
    await expect(createPeer({ dataDir: '', logger: testLogger })).rejects.toThrow(/dataDir/)
    await expect(createPeer({ dataDir: await tempDir(), listen: ['not an address'], logger: testLogger })).rejects.toThrow(InvalidOptionError)
    await expect(createPeer({ dataDir: await tempDir(), bootstrap: ['/ip4/127.0.0.1/tcp/4001'], logger: testLogger })).rejects.toThrow(/\/p2p\//)

    const { peer } = await startPeer()
    await expect(peer.joinGroup('https://example.org/join')).rejects.toMatchObject({ reason: 'not-a-link' })
    await expect(peer.joinGroup('bertybot://group/abc')).rejects.toBeInstanceOf(InvalidLinkError)
    await expect(peer.createGroup({ name: '' })).rejects.toBeInstanceOf(InvalidOptionError)
    const group = await peer.createGroup({ name: 'limits' })
    await expect(group.send({ text: 'x'.repeat(40_000) })).rejects.toThrow(/limit/)
    await peer.stop()
    await expect(peer.createGroup({ name: 'after stop' })).rejects.toThrow(/stopped/)
  })
})

describe('three peers, each in its own process', () => {
  it('talk in a group, and each process ends by itself once its peer stops', async () => {
    const procs = await Promise.all(['alice', 'bob', 'carol'].map(async (name) => await PeerProcess.start({ dataDir: await tempDir(name), displayName: name })))
    const [alice, bob, carol] = procs as [PeerProcess, PeerProcess, PeerProcess]
    const joined = procs.map((proc) => {
      const seen = new Set<string>()
      return new Promise<void>((resolve) => {
        proc.on('memberJoined', (e: { member: { account: string } }) => {
          seen.add(e.member.account)
          if (seen.size === 2) resolve()
        })
      })
    })
    const { id, invitation } = await alice.call<{ id: string, invitation: string }>('createGroup', 'three processes')
    await bob.call('joinGroup', invitation)
    await carol.call('joinGroup', invitation)
    await Promise.all(joined)

    await alice.call('send', id, 'from alice')
    await bob.call('send', id, 'from bob')
    await carol.call('send', id, 'from carol')
    const expect2 = async (proc: PeerProcess, texts: string[]): Promise<void> => {
      await proc.messagesUntil(`${texts.join(', ')}`, (ms) => texts.every((t) => ms.some((m) => m.text === t)))
    }
    await Promise.all([
      expect2(alice, ['from bob', 'from carol']),
      expect2(bob, ['from alice', 'from carol']),
      expect2(carol, ['from alice', 'from bob'])
    ])
    for (const proc of procs) {
      expect(proc.messages.every((m) => m.sender.account !== proc.accountId)).toBe(true)
      expect(proc.messages).toHaveLength(2)
    }
    for (const proc of procs) expect((await proc.stop()).code).toBe(0)
  })
})
