/**
 * The outbox sends each message under a key of its own (`once`): a message
 * that left but whose removal from the outbox a crash lost is found by the
 * group at the next start, not sent a second time.
 */
import { describe, expect, it } from 'vitest'
import type { Group, MessageEvent } from '../../src/protocol/index.ts'
import { messageOf, sealedOf } from '../../src/framework/files.ts'
import { Outbox } from '../../src/framework/outbox.ts'
import { BotStore } from '../../src/framework/store.ts'
import { OUTBOX_ONCE_PREFIX } from '../../src/framework/store-records.ts'
import { formGroup, startPeers, testLogger, type TestPeer } from '../helpers/peers.ts'
import { tempDir } from '../helpers/temp.ts'
import { Inbox } from '../helpers/wait.ts'

describe('the outbox\'s keys', () => {
  it('are new for each message, even once the outbox emptied and its positions start again', async () => {
    const dir = await tempDir('store')
    let store = await BotStore.open(dir)
    let tx = store.transaction()
    tx.send({ group: 'g', message: { text: 'a' } })
    tx.send({ group: 'g', message: { text: 'b' } })
    const first = await tx.commit()
    expect((await store.pending()).map((item) => item.once)).toEqual(first.map((item) => item.once))
    let written = 0
    for (const item of first) await store.markSent(item, `id-${item.seq}`, () => { written++ })
    await store.close()
    // The removals rode with the close's write: their sends' records may go now.
    expect(written).toBe(2)

    store = await BotStore.open(dir)
    tx = store.transaction()
    tx.send({ group: 'g', message: { text: 'c' } })
    const [next] = await tx.commit()
    expect(next?.seq).toBe(first[0]?.seq)
    const keys = [...first, next].map((item) => item?.once)
    expect(keys.every((key) => typeof key === 'string' && key.length > 0)).toBe(true)
    expect(new Set(keys).size).toBe(3)
    await store.close()
  })

  it('let a message that left before a crash, still in the outbox, be found at the next start and not sent again', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob']) as [TestPeer, TestPeer]
    const [aliceGroup] = await formGroup([alice.peer, bob.peer]) as [Group, Group]
    const received = new Inbox<MessageEvent>(bob.peer, 'message')
    const store = await BotStore.open(await tempDir('store'))
    const tx = store.transaction()
    tx.send({ group: aliceGroup.id, message: { text: 'left before the crash' } })
    tx.send({ group: aliceGroup.id, message: { text: 'still queued' } })
    const [left] = await tx.commit()
    // What the outbox does with it, up to the crash: sent, not yet out of the outbox.
    const id = await aliceGroup.send(messageOf(left!), { once: { key: left!.once!, mayBeSent: false } })

    const outbox = new Outbox(store, alice.peer, testLogger, 2)
    await outbox.start()
    expect(await outbox.drain(30_000)).toBe(true)
    outbox.stop()

    await received.until('bob to get the message queued after it', (messages) => messages.some((m) => m.text === 'still queued'))
    expect(received.items.map((m) => m.text)).toEqual(['left before the crash', 'still queued'])
    expect(received.items[0]?.id).toBe(id)
    await store.close()
  })

  it('have the records a crash left of messages no longer in the outbox dropped at start, and only those', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob']) as [TestPeer, TestPeer]
    const [aliceGroup] = await formGroup([alice.peer, bob.peer]) as [Group, Group]
    const received = new Inbox<MessageEvent>(bob.peer, 'message')
    // As a crash leaves it: the message left and was taken out of the outbox; its record was not forgotten.
    const staleKey = `${OUTBOX_ONCE_PREFIX}left-before-the-crash`
    const stale = await aliceGroup.send({ text: 'left before the crash' }, { once: { key: staleKey, mayBeSent: false } })
    // Someone else's key, in the same group: not the outbox's to drop.
    const others = await aliceGroup.send({ text: 'someone else\'s' }, { once: { key: 'theirs:1', mayBeSent: false } })
    const store = await BotStore.open(await tempDir('store'))
    const tx = store.transaction()
    tx.send({ group: aliceGroup.id, message: { text: 'queued' } })
    await tx.commit()

    const outbox = new Outbox(store, alice.peer, testLogger, 2)
    await outbox.start()
    expect(await outbox.drain(30_000)).toBe(true)
    outbox.stop()

    expect(await aliceGroup.send({ text: 'the same key, after the start' }, { once: { key: staleKey, mayBeSent: true } })).not.toBe(stale)
    expect(await aliceGroup.send({ text: 'not sent' }, { once: { key: 'theirs:1', mayBeSent: true } })).toBe(others)
    await received.until('bob to get the message sent under the dropped key', (messages) => messages.some((m) => m.text === 'the same key, after the start'))
    expect(received.items.map((m) => m.text)).toEqual(['left before the crash', 'someone else\'s', 'queued', 'the same key, after the start'])
    await store.close()
  })

  it('let a message an older bot kept sealed go as those bytes, once, though they left before the crash', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob']) as [TestPeer, TestPeer]
    const [aliceGroup] = await formGroup([alice.peer, bob.peer]) as [Group, Group]
    const received = new Inbox<MessageEvent>(bob.peer, 'message')
    const store = await BotStore.open(await tempDir('store'))
    const tx = store.transaction()
    tx.send({ group: aliceGroup.id, message: { text: 'sealed, and left' } })
    tx.send({ group: aliceGroup.id, message: { text: 'sealed, not yet sent' } })
    const [left, waiting] = await tx.commit()
    // As an older bot did: sealed and kept sealed; the first one sent before the crash.
    const sealedLeft = await store.setSealed(left!, await aliceGroup.seal(messageOf(left!)))
    await store.setSealed(waiting!, await aliceGroup.seal(messageOf(waiting!)))
    const id = await aliceGroup.sendSealed(sealedOf(sealedLeft))

    const outbox = new Outbox(store, alice.peer, testLogger, 2)
    await outbox.start()
    expect(await outbox.drain(30_000)).toBe(true)
    outbox.stop()

    await received.until('bob to get the message still waiting', (messages) => messages.some((m) => m.text === 'sealed, not yet sent'))
    expect(received.items.map((m) => m.text)).toEqual(['sealed, and left', 'sealed, not yet sent'])
    expect(received.items[0]?.id).toBe(id)
    await store.close()
  })
})
