import { describe, expect, it } from 'vitest'
import type { MessageDeletedEvent, MessageEditedEvent, MessageEvent } from '../src/protocol/index.ts'
import { groupState } from './helpers/group-state.ts'
import type { LogCapture } from './helpers/log-capture.ts'
import { formGroup, startPeers, type TestPeer } from './helpers/peers.ts'
import { Inbox } from './helpers/wait.ts'

async function droppedAsNotTheAuthor (log: LogCapture, change: 'edit' | 'deletion', target: string, by: string): Promise<void> {
  await log.waitForLine(`the ${change} of ${target} by ${by} to be dropped`, (l) =>
    l.msg === 'dropped a message entry' && l.reason === 'not-the-author' && String(l.detail).startsWith(`${change} of ${target} by ${by}`))
}

/** Resolves once every peer's inbox holds the message `id`. */
async function allGot (inboxes: Array<Inbox<MessageEvent>>, id: string): Promise<void> {
  await Promise.all(inboxes.map(async (inbox) => await inbox.until(`message ${id} to arrive`, (ms) => ms.some((m) => m.id === id))))
}

describe('deletion by a group\'s admins', () => {
  it('lets an admin delete a member\'s message for every member, marked as an admin\'s; an admin\'s edit of it is still dropped', async () => {
    const [alice, bob, carol] = await startPeers(['alice', 'bob', 'carol']) as [TestPeer, TestPeer, TestPeer]
    const [ga, gb, gc] = await formGroup([alice.peer, bob.peer, carol.peer])
    const messages = [alice, carol].map((p) => new Inbox<MessageEvent>(p.peer, 'message'))
    const deletions = [bob, carol].map((p) => new Inbox<MessageDeletedEvent>(p.peer, 'messageDeleted'))
    const edits = [bob, carol].map((p) => new Inbox<MessageEditedEvent>(p.peer, 'messageEdited'))
    for (const [p, g] of [[bob, gb], [carol, gc]] as const) await groupState(p.peer, g!.id, 'alice to be admin', (x) => x.admins().includes(alice.peer.accountId))

    const spam = await gb!.send({ text: 'buy my coins' })
    await allGot(messages, spam)
    await ga!.send({ kind: 'edit', target: spam, text: 'alice put words in bob\'s mouth' })
    await ga!.send({ kind: 'deletion', target: spam })
    for (const inbox of deletions) {
      const [deleted] = await inbox.count(1, 'alice\'s deletion of bob\'s message')
      expect(deleted).toMatchObject({ target: spam, deletedBy: 'admin', sender: { account: alice.peer.accountId } })
    }
    for (const p of [bob, carol]) await droppedAsNotTheAuthor(p.log, 'edit', spam, alice.peer.accountId)
    expect(edits.flatMap((inbox) => inbox.items)).toEqual([])

    // Her own message, deleted by herself as an admin, is still the author's deletion.
    const own = await ga!.send({ text: 'a typo' })
    await ga!.send({ kind: 'deletion', target: own })
    for (const inbox of deletions) {
      const [, deleted] = await inbox.count(2, 'alice\'s deletion of her own message')
      expect(deleted).toMatchObject({ target: own, deletedBy: 'author' })
    }
  }, 120_000)

  it('drops, on every member, a member\'s deletion of another\'s message, and a revoked admin\'s', async () => {
    const [alice, bob, carol] = await startPeers(['alice', 'bob', 'carol']) as [TestPeer, TestPeer, TestPeer]
    const [ga, gb, gc] = await formGroup([alice.peer, bob.peer, carol.peer])
    const messages = [alice, bob, carol].map((p) => new Inbox<MessageEvent>(p.peer, 'message'))
    const deletions = [alice, bob, carol].map((p) => new Inbox<MessageDeletedEvent>(p.peer, 'messageDeleted'))
    const b = bob.peer.accountId

    // Carol is a member: her deletion of alice's message is refused by alice and bob.
    const alices = await ga!.send({ text: 'from the admin' })
    await allGot([messages[1]!, messages[2]!], alices)
    await gc!.send({ kind: 'deletion', target: alices })
    for (const p of [alice, bob]) await droppedAsNotTheAuthor(p.log, 'deletion', alices, carol.peer.accountId)

    // Bob is made admin and deletes carol's message: taken by all.
    await ga!.grantAdmin(b)
    for (const [p, g] of [[alice, ga], [bob, gb], [carol, gc]] as const) await groupState(p.peer, g!.id, 'bob to be admin', (x) => x.admins().includes(b))
    const first = await gc!.send({ text: 'carol\'s first' })
    await allGot([messages[0]!, messages[1]!], first)
    await gb!.send({ kind: 'deletion', target: first })
    for (const inbox of [deletions[0]!, deletions[2]!]) {
      await inbox.until('bob\'s deletion as an admin', (ds) => ds.some((d) => d.target === first && d.deletedBy === 'admin' && d.sender.account === b))
    }

    // Once every member has seen his role revoked, bob's deletion is refused by all.
    await ga!.revokeAdmin(b)
    for (const [p, g] of [[alice, ga], [bob, gb], [carol, gc]] as const) await groupState(p.peer, g!.id, 'bob to be admin no more', (x) => !x.admins().includes(b))
    const second = await gc!.send({ text: 'carol\'s second' })
    await allGot([messages[0]!, messages[1]!], second)
    await gb!.send({ kind: 'deletion', target: second })
    for (const p of [alice, carol]) await droppedAsNotTheAuthor(p.log, 'deletion', second, b)
    // No deletion came but bob's while he was an admin.
    expect(deletions.flatMap((inbox) => inbox.items).map((d) => d.target)).toEqual([first, first])
  }, 120_000)
})
