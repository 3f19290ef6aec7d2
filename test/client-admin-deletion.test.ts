/**
 * The client and a group's admins: a person who is an admin deletes others'
 * messages there, and an admin's deletion is applied as any deletion (its
 * text leaves the disk), with who made it kept.
 */
import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ChatClient, type MessageView } from '../src/client/index.ts'
import type { MemberJoinedEvent, MessageDeletedEvent, MessageEvent } from '../src/protocol/index.ts'
import { groupState } from './helpers/group-state.ts'
import { startPeer, testLogger } from './helpers/peers.ts'
import { Inbox } from './helpers/wait.ts'

/** Whether `text` is written anywhere in the files of directory `dir`. */
async function onDisk (dir: string, text: string): Promise<boolean> {
  const needle = Buffer.from(text)
  for (const name of await readdir(dir)) {
    if ((await readFile(join(dir, name))).includes(needle)) return true
  }
  return false
}

describe('the client and a group\'s admins', () => {
  it('lets an admin delete a member\'s message, and shows a deletion by an admin as such, its text gone from disk', async () => {
    const alice = await startPeer({ displayName: 'alice', delivery: 'manual' })
    const client = await ChatClient.open({ peer: alice.peer, dataDir: alice.dataDir, logger: testLogger })
    const [bob, carol] = await Promise.all(['bob', 'carol'].map(async (displayName) => await startPeer({ displayName })))
    const seen = new Inbox<MessageView>(client, 'message')
    const everyone = [alice, bob!, carol!]
    const joined = everyone.map((p) => new Inbox<MemberJoinedEvent>(p.peer, 'memberJoined'))
    const group = await client.createGroup('moderated')
    const [gb, gc] = await Promise.all([bob!, carol!].map(async (p) => await p.peer.joinGroup(client.invitation(group.id))))
    // As formGroup does: once each has seen the others join, what anyone sends is readable by all.
    await Promise.all(everyone.map(async (p, i) => await joined[i]!.until(`${p.peer.displayName} to see the others join`, (es) =>
      everyone.every((o) => o === p || es.some((e) => e.member.account === o.peer.accountId)))))
    const atCarol = new Inbox<MessageDeletedEvent>(carol!.peer, 'messageDeleted')
    const carolGot = new Inbox<MessageEvent>(carol!.peer, 'message')

    // Alice made the group: she is its admin, and deletes bob's message.
    await groupState(alice.peer, group.id, 'alice to be admin', (g) => g.admins().includes(alice.peer.accountId))
    expect((await client.conversation(group.id)).admin).toBe(true)
    const secret = `spam-${randomBytes(24).toString('base64url')}`
    const spam = await gb!.send({ text: secret })
    const shown = (await seen.until('bob\'s message', (ms) => ms.some((m) => m.messageId === spam))).find((m) => m.messageId === spam)!
    await carolGot.until('carol to get bob\'s message', (ms) => ms.some((m) => m.id === spam))
    const historyDir = join(alice.dataDir, 'client-history')
    expect(await onDisk(historyDir, secret)).toBe(true)
    expect(await client.delete(group.id, shown.seq)).toMatchObject({ text: '', deleted: true, deletedByAdmin: true })
    expect(await onDisk(historyDir, secret)).toBe(false)
    const [deletion] = await atCarol.count(1, 'alice\'s deletion at carol')
    expect(deletion).toMatchObject({ target: spam, deletedBy: 'admin', sender: { account: alice.peer.accountId } })
    await expect(client.edit(group.id, shown.seq, 'not mine')).rejects.toMatchObject({ code: 'ERR_MESSAGE_DELETED' })

    // Bob, made admin, deletes carol's message: alice's client shows it deleted by an admin; carol's own deletion is hers.
    await alice.peer.group(group.id)!.grantAdmin(bob!.peer.accountId)
    await groupState(carol!.peer, group.id, 'carol to see bob as admin', (g) => g.admins().includes(bob!.peer.accountId))
    await groupState(alice.peer, group.id, 'alice to see bob as admin', (g) => g.admins().includes(bob!.peer.accountId))
    const bobGot = new Inbox<MessageEvent>(bob!.peer, 'message')
    const carols = await gc!.send({ text: 'carol says something rude' })
    const typo = await gc!.send({ text: 'carol\'s typo' })
    await seen.until('carol\'s messages', (ms) => ms.some((m) => m.messageId === typo))
    await bobGot.until('bob to get carol\'s message', (ms) => ms.some((m) => m.id === carols))
    await gb!.send({ kind: 'deletion', target: carols })
    await gc!.send({ kind: 'deletion', target: typo })
    await seen.until('both deletions', (ms) => ms.some((m) => m.messageId === carols && m.deleted) && ms.some((m) => m.messageId === typo && m.deleted))
    const page = await client.history(group.id)
    const byId = new Map(page.messages.map((m) => [m.messageId, m]))
    expect(byId.get(carols)).toMatchObject({ text: '', deleted: true, deletedByAdmin: true })
    expect(byId.get(typo)).toMatchObject({ text: '', deleted: true, deletedByAdmin: false })
    expect(byId.get(spam)).toMatchObject({ deleted: true, deletedByAdmin: true })
    await client.close()
  }, 120_000)
})
