/**
 * Operations that wait on the network take `{ signal }`: when it aborts they
 * reject at once with `AbortError`, undo what they began (a request given up,
 * a group left unjoined, a message left unsent), and leave nothing running.
 */
import { describe, expect, it } from 'vitest'
import { AbortError, createReplica, type ContactRequestEvent, type MessageEvent } from '../src/protocol/index.ts'
import { LogCapture } from './helpers/log-capture.ts'
import { formGroup, startPeer, startPeers, type TestPeer } from './helpers/peers.ts'
import { tempDir } from './helpers/temp.ts'
import { Inbox } from './helpers/wait.ts'

/** Well under the few seconds a newcomer waits to hear from a member, and the twenty a lone peer looks for an offline one. */
const PROMPT_MS = 2_000

/** Runs `operation` with a signal aborted after `afterMs`; resolves with how long after the abort it settled, and its error. */
async function abortAfter (afterMs: number, operation: (signal: AbortSignal) => Promise<unknown>): Promise<{ error: unknown, msAfterAbort: number }> {
  const controller = new AbortController()
  let abortedAt = 0
  const timer = setTimeout(() => {
    abortedAt = Date.now()
    controller.abort()
  }, afterMs)
  try {
    await operation(controller.signal)
  } catch (error) {
    return { error, msAfterAbort: Date.now() - abortedAt }
  } finally {
    clearTimeout(timer)
  }
  throw new Error(`the operation resolved although its signal aborted after ${afterMs} ms`)
}

/** Stops the peer and checks it stopped cleanly: no warning or error on its way out. */
async function stopsCleanly (peer: TestPeer): Promise<void> {
  await peer.peer.stop()
  expect(peer.log.find((line) => line.level >= 40).map((line) => line.msg)).toEqual([])
}

function expectAbortError (error: unknown): void {
  expect(error).toBeInstanceOf(AbortError)
  expect(error).toMatchObject({ name: 'AbortError', code: 'ERR_ABORTED' })
}

describe('an aborted operation', () => {
  it('addContact to a peer that is offline: rejects at once, gives the request up, and the peer stops cleanly', async () => {
    const bob = await startPeer({ displayName: 'bob' })
    const link = bob.peer.contactLink()
    await bob.peer.stop()
    // Alone, with nobody to ask in the DHT, a first try looks for bob for some twenty seconds.
    const alice = await startPeer({ displayName: 'alice' })

    const { error, msAfterAbort } = await abortAfter(300, async (signal) => await alice.peer.addContact(link, { signal }))
    expectAbortError(error)
    expect(msAfterAbort).toBeLessThan(PROMPT_MS)
    expect(alice.peer.contact(bob.peer.accountId)?.state).toBe('declined')
    await stopsCleanly(alice)
  })

  it('joinGroup with an invitation whose peers are gone: rejects at once, and the peer is not in the group, after a restart either', async () => {
    const creator = await startPeer({ displayName: 'creator' })
    const group = await creator.peer.createGroup({ name: 'deserted' })
    const invitation = group.invitation()
    await creator.peer.stop()
    const joiner = await startPeer({ displayName: 'joiner' })

    const { error, msAfterAbort } = await abortAfter(100, async (signal) => await joiner.peer.joinGroup(invitation, { signal }))
    expectAbortError(error)
    expect(msAfterAbort).toBeLessThan(PROMPT_MS)
    expect(joiner.peer.groups()).toEqual([])
    await stopsCleanly(joiner)

    const again = await startPeer({ dataDir: joiner.dataDir })
    expect(again.peer.groups()).toEqual([])
    // Nothing half-done stands in the way of joining for real.
    const joined = await again.peer.joinGroup(invitation)
    expect(joined.id).toBe(group.id)
    expect(joined.members().map((m) => m.account)).toEqual([again.peer.accountId])
    await stopsCleanly(again)
  })

  it('acceptContact when the requester has gone: rejects at once, and the request is pending again', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob']) as [TestPeer, TestPeer]
    const requests = new Inbox<ContactRequestEvent>(alice.peer, 'contactRequest')
    await bob.peer.addContact(alice.peer.contactLink())
    const [request] = await requests.count(1, 'the request at alice')
    await bob.peer.stop()

    // Opening the contact group waits a few seconds to hear from bob.
    const { error, msAfterAbort } = await abortAfter(100, async (signal) => await request!.accept({ signal }))
    expectAbortError(error)
    expect(msAfterAbort).toBeLessThan(PROMPT_MS)
    expect(alice.peer.contact(bob.peer.accountId)?.state).toBe('incoming')
    expect(alice.peer.groups()).toEqual([])

    const group = await alice.peer.acceptContact(bob.peer.accountId)
    expect(group.contact).toBe(bob.peer.accountId)
    expect(alice.peer.contact(bob.peer.accountId)?.state).toBe('accepted')
    await stopsCleanly(alice)
  })

  it('send: rejected unsent when aborted before its turn, behind others or before it is called', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob']) as [TestPeer, TestPeer]
    const [aliceGroup] = await formGroup([alice.peer, bob.peer])
    const received = new Inbox<MessageEvent>(bob.peer, 'message')

    const ahead = Array.from({ length: 30 }, async (_, i) => await aliceGroup!.send({ text: `ahead ${i}` }))
    const controller = new AbortController()
    const queued = aliceGroup!.send({ text: 'aborted in line' }, { signal: controller.signal })
    controller.abort()
    await expect(queued).rejects.toBeInstanceOf(AbortError)
    await expect(aliceGroup!.send({ text: 'aborted before' }, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError)
    await Promise.all(ahead)
    await aliceGroup!.send({ text: 'last' })

    // Delivered in log order: once `last` is in, anything sent before it would be too.
    await received.until('bob to get the last message', (messages) => messages.some((m) => m.text === 'last'))
    const texts = received.items.map((m) => m.text)
    expect(texts).toHaveLength(31)
    expect(texts).not.toContain('aborted in line')
    expect(texts).not.toContain('aborted before')
    await stopsCleanly(alice)
  })

  it('addReplica: aborted while it dials, rejects, and the replica was not asked', async () => {
    const replica = await createReplica({ dataDir: await tempDir('replica'), logger: new LogCapture('warn').logger })
    const alice = await startPeer({ displayName: 'alice' })
    const group = await alice.peer.createGroup({ name: 'kept' })

    const controller = new AbortController()
    const asking = group.addReplica(replica.link(), { signal: controller.signal })
    controller.abort()
    await expect(asking).rejects.toBeInstanceOf(AbortError)
    expect(replica.groups()).toEqual([])
    expect(group.replicas()).toEqual([])

    await group.addReplica(replica.link())
    expect(replica.groups().map((g) => g.id)).toEqual([group.id])
    await replica.stop()
    await stopsCleanly(alice)
  })
})
