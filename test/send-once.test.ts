/**
 * `group.send(message, { once })`: a durable outbox's send, safe to try again.
 * The message's id is recorded under its key in the write that appends it; a
 * try that may come after it (`mayBeSent`) finds it and sends nothing, after
 * a restart too, until the key is forgotten.
 */
import { describe, expect, it } from 'vitest'
import type { Group, MessageEvent } from '../src/protocol/index.ts'
import { formGroup, startPeer, startPeers, type TestPeer } from './helpers/peers.ts'
import { Inbox } from './helpers/wait.ts'

describe('a send under a key of its own', () => {
  it('is sent once, however often it is tried, across a restart, until its key is forgotten', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob']) as [TestPeer, TestPeer]
    const [aliceGroup] = await formGroup([alice.peer, bob.peer]) as [Group, Group]
    const received = new Inbox<MessageEvent>(bob.peer, 'message')

    const first = await aliceGroup.send({ text: 'once' }, { once: { key: 'k1', mayBeSent: false } })
    expect(await aliceGroup.send({ text: 'once' }, { once: { key: 'k1', mayBeSent: true } })).toBe(first)
    // Tried together with others: found, and the others go.
    const together = await Promise.all([
      aliceGroup.send({ text: 'once' }, { once: { key: 'k1', mayBeSent: true } }),
      aliceGroup.send({ text: 'two' }, { once: { key: 'k2', mayBeSent: true } })
    ])
    expect(together[0]).toBe(first)

    await alice.peer.stop()
    const again = await startPeer({ dataDir: alice.dataDir })
    const group = again.peer.group(aliceGroup.id) as Group
    expect(await group.send({ text: 'once' }, { once: { key: 'k1', mayBeSent: true } })).toBe(first)
    expect(await group.send({ text: 'two' }, { once: { key: 'k2', mayBeSent: true } })).toBe(together[1])

    // Forgotten with the next write (the send of 'between'), the key sends again.
    group.forgetSent(['k1'])
    await group.send({ text: 'between' })
    const second = await group.send({ text: 'once' }, { once: { key: 'k1', mayBeSent: true } })
    expect(second).not.toBe(first)

    await expect(group.send({ text: 'no key' }, { once: { key: '', mayBeSent: false } })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' })
    await received.until('bob to get the message sent after the key was forgotten', (messages) => messages.some((m) => m.id === second))
    expect(received.items.map((m) => m.text)).toEqual(['once', 'two', 'between', 'once'])
    await again.peer.stop()
  })
})
