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

  it('has its record dropped by the owner of its key\'s prefix, in every group, unless kept', async () => {
    const [alice, bob, carol] = await startPeers(['alice', 'bob', 'carol']) as [TestPeer, TestPeer, TestPeer]
    const [withBob] = await formGroup([alice.peer, bob.peer]) as [Group, Group]
    const [withCarol] = await formGroup([alice.peer, carol.peer]) as [Group, Group]
    const stale = await withBob.send({ text: 'left' }, { once: { key: 'mine:stale', mayBeSent: false } })
    const kept = await withCarol.send({ text: 'may go again' }, { once: { key: 'mine:kept', mayBeSent: false } })
    const staleToo = await withCarol.send({ text: 'left too' }, { once: { key: 'mine:stale-too', mayBeSent: false } })
    const others = await withBob.send({ text: 'someone else\'s' }, { once: { key: 'theirs:1', mayBeSent: false } })

    expect(await alice.peer.forgetSentOnce({ keyPrefix: 'mine:', keep: ['mine:kept'] })).toBe(2)

    // Dropped: the same key is a new message. Kept, or another prefix: found, nothing sent.
    expect(await withBob.send({ text: 'left' }, { once: { key: 'mine:stale', mayBeSent: true } })).not.toBe(stale)
    expect(await withCarol.send({ text: 'left too' }, { once: { key: 'mine:stale-too', mayBeSent: true } })).not.toBe(staleToo)
    expect(await withCarol.send({ text: 'may go again' }, { once: { key: 'mine:kept', mayBeSent: true } })).toBe(kept)
    expect(await withBob.send({ text: 'someone else\'s' }, { once: { key: 'theirs:1', mayBeSent: true } })).toBe(others)
  })
})
