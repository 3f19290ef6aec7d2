/**
 * Removal as a member who was removed meets it: it keeps running, in a
 * process of its own, with every key it was ever given, and tries to read
 * and write; the others, offline or online, and a replica, go on in the new
 * epoch without it.
 */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createReplica, EpochChangedError, type MemberJoinedEvent, type MessageEvent } from '../src/protocol/index.ts'
import { groupState } from './helpers/group-state.ts'
import { LogCapture } from './helpers/log-capture.ts'
import { PeerProcess } from './helpers/peer-process.ts'
import { formGroup, startPeer, startPeers, type TestPeer } from './helpers/peers.ts'
import { tempDir } from './helpers/temp.ts'
import { Inbox, pollUntil, waitFor } from './helpers/wait.ts'

const hostileScript = fileURLToPath(new URL('./fixtures/hostile-orbitdb.ts', import.meta.url))

/** Waits for an event of a peer process that `holds`. */
async function childEvent<T> (child: PeerProcess, name: string, what: string, holds: (data: T) => boolean): Promise<T> {
  return await waitFor(what, (done) => {
    const look = (data: T): void => { if (holds(data)) done(data) }
    child.on(name, look)
    return () => { child.off(name, look) }
  })
}

/** Asks a peer process until `holds` answers true: what it sees of its own network has no event to wait on. */
async function askUntil (what: string, holds: () => Promise<boolean>): Promise<void> {
  await waitFor(what, (done) => {
    let asking = false
    const ask = (): void => {
      if (asking) return
      asking = true
      holds().then((yes) => { asking = false; if (yes) done(true) }, () => { asking = false })
    }
    const timer = setInterval(ask, 100)
    ask()
    return () => { clearInterval(timer) }
  })
}

/** Appends `count` entries to `address` from a peer whose access controller lets anything in, in a process of its own. */
async function forge (address: string, dial: string[], count: number): Promise<{ hashes: string[], stop: () => Promise<void> }> {
  const hostile = fork(hostileScript, [JSON.stringify({ dir: await tempDir('forger'), dial, address, count })], {
    execArgv: ['--conditions=bertybot-source'], stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  const exited = new Promise((resolve) => hostile.on('exit', resolve))
  const { hashes } = await waitFor<{ hashes: string[] }>('the forger to append', (done) => {
    hostile.on('message', done as never)
    return () => hostile.off('message', done as never)
  }, 60_000)
  return { hashes, stop: async () => { hostile.send('stop'); await exited } }
}

describe('removing a member', () => {
  it('locks it out: running on, it reads nothing sent after, and nothing it writes is taken', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob']) as [TestPeer, TestPeer]
    const carol = await PeerProcess.start({ dataDir: await tempDir('carol'), displayName: 'carol', fixture: 'removed-member.ts' })
    const joins = [alice, bob].map((p) => new Inbox<MemberJoinedEvent>(p.peer, 'memberJoined'))
    const [ga, gb] = await formGroup([alice.peer, bob.peer])
    await carol.call('joinGroup', ga!.invitation())
    await Promise.all(joins.map(async (inbox) => await inbox.until('carol to join', (items) => items.some((e) => e.member.account === carol.accountId))))
    const inboxes = [alice, bob].map((p) => new Inbox<MessageEvent>(p.peer, 'message'))
    const dial = [alice.peer.multiaddrs[0] as string, bob.peer.multiaddrs[0] as string]

    // Before: carol reads the group.
    await ga!.send({ text: 'before the removal' })
    await carol.messagesUntil('carol to read what came before', (ms) => ms.some((m) => m.text === 'before the removal'))
    const oldLogs = ga!.logAddresses

    const removed = childEvent<{ removed: boolean }>(carol, 'groupChanged', 'carol to learn she was removed', (e) => e.removed)
    await ga!.removeMember(carol.accountId)
    expect(ga!.epoch).not.toBe(ga!.id)
    await groupState(bob.peer, gb!.id, 'bob to move to the new epoch', (g) => g.epoch === ga!.epoch)
    await removed
    expect(ga!.members().map((m) => m.account).sort()).toEqual([alice.peer.accountId, bob.peer.accountId].sort())
    expect(ga!.logAddresses).not.toEqual(oldLogs)

    // Her own peer refuses to send for her.
    await expect(carol.call('send', ga!.id, 'through the API')).rejects.toThrow(/no longer in group/)

    // With the old link key she finds the new logs, as a replica would, and is on their topic...
    const newLogs = await carol.call<{ metadata: string, messages: string }>('followNewEpoch', dial)
    expect(newLogs).toEqual(ga!.logAddresses)
    await askUntil('carol\'s stock node to see alice and bob on the new message log', async () => {
      const subscribers = await carol.call<string[]>('subscribers', newLogs.messages)
      return [alice.peer.peerId, bob.peer.peerId].every((id) => subscribers.includes(id))
    })
    // ...and gets what is sent there, which she cannot open, nor does her peer deliver it.
    const held = new Set<string>()
    carol.on('held', (e: { address: string, hash: string }) => { if (e.address === newLogs.messages) held.add(e.hash) })
    const after = await ga!.send({ text: 'after the removal' })
    await inboxes[1]!.until('bob to read what came after', (ms) => ms.some((m) => m.id === after))
    await pollUntil('carol to get the entry sent after', () => held.has(after))
    expect(await carol.call<boolean>('canRead', newLogs.messages, after)).toBe(false)

    // She writes to the old message log, sealed with the old secret, signed by her own device: dropped by both.
    const old = await carol.call<string>('writeToOldLog', 'written after the removal', dial)
    await Promise.all([alice, bob].map(async (peer) => await peer.log.waitForLine('carol\'s late entry to be dropped', (l) =>
      l.msg === 'dropped a message entry' && l.entry === old && l.reason === 'removed-member')))

    // Forged to the new logs without the new secret: rejected by both.
    const forged = await forge(newLogs.messages, dial, 2)
    try {
      await Promise.all([alice, bob].flatMap((peer) => forged.hashes.map(async (hash) => await peer.log.waitForLine(`rejection of ${hash}`, (l) =>
        l.msg === 'rejected a log entry' && l.entry === hash))))
    } finally {
      await forged.stop()
    }

    // The others go on; nothing of hers came through, and she read nothing after.
    await gb!.send({ text: 'still going' })
    await inboxes[0]!.until('alice to read bob', (ms) => ms.some((m) => m.text === 'still going'))
    const taken = ['before the removal', 'after the removal', 'still going']
    for (const inbox of inboxes) expect(inbox.items.map((m) => m.text).filter((t) => !taken.includes(t))).toEqual([])
    expect(carol.messages.map((m) => m.text)).toEqual(['before the removal'])
    await carol.stop()
  }, 180_000)

  it('brings a member who was offline during the removal into the new epoch', async () => {
    const [alice, bob, carol] = await startPeers(['alice', 'bob', 'carol']) as [TestPeer, TestPeer, TestPeer]
    const [ga, gb] = await formGroup([alice.peer, bob.peer, carol.peer])
    await bob.peer.stop()
    await ga!.removeMember(carol.peer.accountId)
    const sent = await ga!.send({ text: 'while bob was away' })

    const back = await startPeer({ dataDir: bob.dataDir })
    const inbox = new Inbox<MessageEvent>(back.peer, 'message')
    await inbox.until('bob to read what was sent while he was away', (ms) => ms.some((m) => m.id === sent))
    const group = back.peer.group(gb!.id)!
    expect(group.epoch).toBe(ga!.epoch)
    expect(group.members().map((m) => m.account).sort()).toEqual([alice.peer.accountId, back.peer.accountId].sort())
    const reply = await group.send({ text: 'bob is back' })
    const aliceInbox = new Inbox<MessageEvent>(alice.peer, 'message')
    await aliceInbox.until('alice to read bob in the new epoch', (ms) => ms.some((m) => m.id === reply))
  })

  it('refuses to send a message sealed before the group moved to a new epoch (the removed member could read it), in this session and after a restart', async () => {
    const [alice, bob, carol] = await startPeers(['alice', 'bob', 'carol']) as [TestPeer, TestPeer, TestPeer]
    const [ga] = await formGroup([alice.peer, bob.peer, carol.peer])
    const early = await ga!.seal({ text: 'sealed while carol was in' })
    const kept = await ga!.seal({ text: 'also sealed while carol was in' })
    const current = await ga!.seal({ text: 'sealed and sent before the removal' })
    await ga!.sendSealed(current)
    await ga!.removeMember(carol.peer.accountId)
    await expect(ga!.sendSealed(early)).rejects.toBeInstanceOf(EpochChangedError)
    // Sent already: it is found in the old epoch's log, not refused.
    expect(await ga!.sendSealed(current)).toBeTypeOf('string')
    // The same bytes read back after a restart, as an outbox keeps them: told by opening their headers.
    await alice.peer.stop()
    const back = await startPeer({ dataDir: alice.dataDir })
    const group = back.peer.group(ga!.id)!
    await expect(group.sendSealed({ ...kept, bytes: Uint8Array.from(kept.bytes) })).rejects.toBeInstanceOf(EpochChangedError)
    const fresh = await group.seal({ text: 'sealed in the new epoch' })
    expect(await group.sendSealed(fresh)).toBeTypeOf('string')
  })

  it('leaves a replica serving the new epoch', async () => {
    const replica = await createReplica({ dataDir: await tempDir('replica'), logger: new LogCapture('warn').logger })
    try {
      const [alice, bob, carol] = await startPeers(['alice', 'bob', 'carol']) as [TestPeer, TestPeer, TestPeer]
      const [ga, gb] = await formGroup([alice.peer, bob.peer, carol.peer])
      await ga!.addReplica(replica.link())
      await waitFor('bob to learn of the replica', (done) => {
        const check = (): void => { if (gb!.replicas().some((r) => r.peerId === replica.peerId)) done(true) }
        const timer = setInterval(check, 50)
        check()
        return () => { clearInterval(timer) }
      })

      const followed = waitFor<{ id: string }>('the replica to follow the group to its new epoch', (done) => {
        const look = (g: { id: string, follows?: string }): void => { if (g.follows === ga!.id) done(g) }
        replica.on('group', look)
        return () => { replica.off('group', look) }
      })
      await ga!.removeMember(carol.peer.accountId)
      await groupState(bob.peer, gb!.id, 'bob to move to the new epoch', (g) => g.epoch === ga!.epoch)
      expect((await followed).id).toBe(ga!.epoch)

      // Bob goes away; alice writes in the new epoch, the replica keeps it, alice goes away.
      await bob.peer.stop()
      const stored = new Set<string>()
      replica.on('entry', (e) => { if (e.group === ga!.epoch) stored.add(e.hash) })
      const sent = await ga!.send({ text: 'kept by the replica' })
      await pollUntil('the replica to keep the new message', () => stored.has(sent))
      await alice.peer.stop()
      await carol.peer.stop()

      // Bob comes back to nobody but the replica.
      const back = await startPeer({ dataDir: bob.dataDir })
      const inbox = new Inbox<MessageEvent>(back.peer, 'message')
      await inbox.until('bob to get the new epoch\'s message from the replica', (ms) => ms.some((m) => m.id === sent), 60_000)
    } finally {
      await replica.stop()
    }
  })

  it('lets a member leave: the others move on without it, and it reads nothing after', async () => {
    const [alice, bob, carol] = await startPeers(['alice', 'bob', 'carol']) as [TestPeer, TestPeer, TestPeer]
    const [ga, gb, gc] = await formGroup([alice.peer, bob.peer, carol.peer])
    const inboxes = [alice, bob, carol].map((p) => new Inbox<MessageEvent>(p.peer, 'message'))
    await gc!.leave()
    expect(carol.peer.groups()).toEqual([])
    await groupState(bob.peer, gb!.id, 'bob to move', (g) => g.epoch !== g.id && g.members().length === 2)
    await groupState(alice.peer, ga!.id, 'alice to move', (g) => g.epoch !== g.id && g.members().length === 2)
    expect(ga!.epoch).toBe(gb!.epoch)
    expect(ga!.admins()).toEqual([alice.peer.accountId])
    const after = await ga!.send({ text: 'after carol left' })
    await inboxes[1]!.until('bob to read it', (ms) => ms.some((m) => m.id === after))
    expect(inboxes[2]!.items.map((m) => m.text)).toEqual([])
  })
})
