import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ChatClient, ClientError, type MessageView, type RequestView } from '../src/client/index.ts'
import { openPrivateLevel, type ContactRequestEvent, type MessageEvent, type ReactionEvent } from '../src/protocol/index.ts'
import { formGroup, startPeer, testLogger } from './helpers/peers.ts'
import { clientAndContact } from './helpers/client-pair.ts'
import { Inbox } from './helpers/wait.ts'

const texts = async (client: ChatClient, conversation: string): Promise<string[]> => (await client.history(conversation)).messages.map((m) => m.text)

describe('blocking in a person\'s client', () => {
  it('shows nothing a blocked account sends, in its conversation and in groups, nor counts it unread; after unblock, what it sends next', async () => {
    const { alice, client, bob, conversation, bobGroup } = await clientAndContact()
    const [aliceInGroup, bobInGroup] = await formGroup([alice.peer, bob.peer], 'team')
    const group = aliceInGroup!.id
    const shown = new Inbox<MessageView>(client, 'message')
    const arrived = new Inbox<MessageEvent>(alice.peer, 'message')

    const mine = await client.send(conversation, 'hello bob')
    await shown.until('alice\'s message sent', (items) => items.some((m) => m.seq === mine.seq && m.state === 'sent'))
    await bobGroup.send({ text: 'before the block' })
    await shown.until('bob\'s message before the block', (items) => items.some((m) => m.text === 'before the block'))

    const blocked = await client.blocks.block(bob.peer.contactLink(), 'bob')
    expect(blocked).toMatchObject({ account: bob.peer.accountId, name: 'bob' })
    expect(client.blocks.list().map((b) => b.account)).toEqual([bob.peer.accountId])

    const target = (await client.history(conversation)).messages.find((m) => m.seq === mine.seq)!.messageId!
    const reactions = new Inbox<ReactionEvent>(alice.peer, 'reaction')
    await bobGroup.send({ kind: 'reaction', target, emoji: '👍' })
    await bobGroup.send({ text: 'while blocked' })
    await bobInGroup!.send({ text: 'in the group while blocked' })
    // The peer gave the client all three: the client dropped them.
    await arrived.until('bob\'s messages at alice\'s peer', (items) => items.some((e) => e.text === 'while blocked') && items.some((e) => e.text === 'in the group while blocked'))
    await reactions.count(1, 'bob\'s reaction at alice\'s peer')

    await client.blocks.unblock(bob.peer.accountId)
    expect(client.blocks.list()).toEqual([])
    await bobGroup.send({ text: 'after the unblock' })
    await bobInGroup!.send({ text: 'in the group after the unblock' })
    await shown.until('bob\'s messages after the unblock', (items) => items.some((m) => m.text === 'after the unblock') && items.some((m) => m.text === 'in the group after the unblock'))

    expect(await texts(client, conversation)).toEqual(['hello bob', 'before the block', 'after the unblock'])
    expect((await client.history(conversation)).messages[0]?.reactions).toEqual([])
    expect(await texts(client, group)).toEqual(['in the group after the unblock'])
    expect((await client.conversation(conversation)).unread).toBe(2)
    expect((await client.conversation(group)).unread).toBe(1)
    expect(shown.items.some((m) => m.text.includes('while blocked'))).toBe(false)
    await client.close()
  })

  it('leaves a blocked account\'s contact request out of the list, pending, and lists it again once unblocked', async () => {
    const alice = await startPeer({ displayName: 'alice', delivery: 'manual' })
    const client = await ChatClient.open({ peer: alice.peer, dataDir: alice.dataDir, logger: testLogger })
    const carol = await startPeer({ displayName: 'carol' })
    await client.blocks.block(carol.peer.accountId)
    const requested = new Inbox<ContactRequestEvent>(alice.peer, 'contactRequest')
    const listed = new Inbox<RequestView[]>(client, 'requests')
    await carol.peer.addContact(alice.peer.contactLink(), { message: 'hi, it is carol' })
    await requested.count(1, 'carol\'s request at alice\'s peer')
    expect(client.requests()).toEqual([])
    expect(alice.peer.contact(carol.peer.accountId)?.state).toBe('incoming')
    await expect(client.answerRequest(carol.peer.accountId, true)).rejects.toMatchObject({ code: 'ERR_NO_REQUEST' })

    await client.blocks.unblock(carol.peer.contactLink())
    const lists = await listed.until('the requests with carol\'s', (items) => items.some((list) => list.some((r) => r.account === carol.peer.accountId)))
    // Every list told while she was blocked left her out.
    expect(lists.slice(0, -1).flat()).toEqual([])
    expect(lists.at(-1)).toEqual([expect.objectContaining({ account: carol.peer.accountId, name: 'carol', message: 'hi, it is carol' })])
    expect(client.requests().map((r) => r.account)).toEqual([carol.peer.accountId])
    await client.close()
  })

  it('keeps blocks across a restart, and a damaged record still blocks', async () => {
    const alice = await startPeer({ displayName: 'alice', delivery: 'manual' })
    const bob = await startPeer({ displayName: 'bob' })
    const carol = await startPeer({ displayName: 'carol' })
    const client = await ChatClient.open({ peer: alice.peer, dataDir: alice.dataDir, logger: testLogger })
    const first = await client.blocks.block(bob.peer.accountId, 'bob at work')
    await client.close()
    // A record someone damaged on disk: the block must not be lifted by it.
    const db = await openPrivateLevel(join(alice.dataDir, 'client-history'), { what: 'the chat history', format: 2 })
    await db.put(`b!${carol.peer.accountId}`, new TextEncoder().encode('{"v":9,'))
    await db.close()

    const reopened = await ChatClient.open({ peer: alice.peer, dataDir: alice.dataDir, logger: alice.log.logger })
    expect(reopened.blocks.list()).toEqual([first, { account: carol.peer.accountId, name: 'someone (' + carol.peer.accountId.slice(0, 8) + ')', since: 0 }])
    expect(alice.log.find((line) => line.msg === 'a damaged block record: the account stays blocked' && line.account === carol.peer.accountId)).toHaveLength(1)
    await reopened.close()
  })

  it('refuses what is neither an account id nor a contact link, and our own account', async () => {
    const alice = await startPeer({ displayName: 'alice', delivery: 'manual' })
    const client = await ChatClient.open({ peer: alice.peer, dataDir: alice.dataDir, logger: testLogger })
    await expect(client.blocks.block('bob')).rejects.toBeInstanceOf(ClientError)
    await expect(client.blocks.block('bob')).rejects.toMatchObject({ code: 'ERR_INVALID_ACCOUNT' })
    await expect(client.blocks.block('bertybot://contact/garbage')).rejects.toMatchObject({ code: 'ERR_INVALID_ACCOUNT' })
    await expect(client.blocks.unblock('not an account')).rejects.toMatchObject({ code: 'ERR_INVALID_ACCOUNT' })
    await expect(client.blocks.block(alice.peer.contactLink())).rejects.toMatchObject({ code: 'ERR_BLOCK_SELF' })
    expect(client.blocks.list()).toEqual([])
    await client.close()
  })
})
