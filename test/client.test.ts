import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ChatClient, type MessageView } from '../src/client/index.ts'
import { HistoryStore } from '../src/client/history.ts'
import type { MessageEvent } from '../src/protocol/index.ts'
import { startPeer, testLogger } from './helpers/peers.ts'
import { tempDir } from './helpers/temp.ts'
import { clientAndContact } from './helpers/client-pair.ts'
import { Inbox } from './helpers/wait.ts'

function messages (client: ChatClient): Inbox<MessageView> {
  return new Inbox<MessageView>(client, 'message')
}

describe('the client history', () => {
  it('keeps what was said both ways, in order, with unread counts, across a restart', async () => {
    const { alice, client, bob, conversation, bobGroup } = await clientAndContact()
    const seen = messages(client)
    await client.send(conversation, 'hello bob')
    await seen.until('alice\'s message to be sent', (items) => items.some((m) => m.text === 'hello bob' && m.state !== 'sending'))
    const bobInbox = new Inbox<MessageEvent>(bob.peer, 'message')
    const [fromAlice] = await bobInbox.count(1, 'alice\'s message at bob')
    await bobGroup.send({ text: 'hi alice', replyTo: fromAlice!.id })
    await bobGroup.send({ text: 'second line\nwith a break' })
    await seen.until('bob\'s two messages', (items) => items.filter((m) => !m.sender.own).length === 2)

    const view = await client.conversation(conversation)
    expect(view).toMatchObject({ kind: 'contact', name: 'bob', unread: 2, last: { text: 'second line\nwith a break' } })
    const page = await client.history(conversation)
    expect(page.messages.map((m) => [m.seq, m.sender.name, m.text])).toEqual([[1, 'alice', 'hello bob'], [2, 'bob', 'hi alice'], [3, 'bob', 'second line\nwith a break']])
    expect(page.messages[1]?.replyTo).toEqual({ messageId: fromAlice!.id, sender: 'You', text: 'hello bob' })
    expect(page.more).toBe(false)

    await client.markRead(conversation)
    expect((await client.conversation(conversation)).unread).toBe(0)

    // A restart: the same data directory, a new peer and client.
    await client.close()
    await alice.peer.stop()
    const again = await startPeer({ displayName: 'alice', delivery: 'manual', dataDir: alice.dataDir })
    const reopened = await ChatClient.open({ peer: again.peer, dataDir: again.dataDir, logger: testLogger })
    const after = await reopened.history(conversation)
    expect(after.messages.map((m) => m.text)).toEqual(['hello bob', 'hi alice', 'second line\nwith a break'])
    expect((await reopened.conversation(conversation)).unread).toBe(0)
    await reopened.close()
  })

  it('marks our message pending while nobody has it, sent once a peer of the conversation has it, seen once read', async () => {
    const { alice, client, bob, conversation } = await clientAndContact()
    const seen = messages(client)
    // Bob goes away: what alice sends now reaches no one.
    await bob.peer.stop()
    const sent = await client.send(conversation, 'are you there?')
    expect(sent.state).toBe('sending')
    await seen.until('the message to be pending', (items) => items.some((m) => m.seq === sent.seq && m.state === 'pending'))
    expect((await client.history(conversation)).messages.at(-1)?.state).toBe('pending')

    // Bob is back (same data, another port): the heads exchange hands it over.
    const bobAgain = await startPeer({ displayName: 'bob', dataDir: bob.dataDir, listen: ['/ip4/127.0.0.2/tcp/0'], bootstrap: alice.peer.multiaddrs.filter((a) => a.includes('/tcp/') && !a.includes('/ws')) })
    const bobInbox = new Inbox<MessageEvent>(bobAgain.peer, 'message')
    await seen.until('the message to be sent', (items) => items.some((m) => m.seq === sent.seq && m.state === 'sent'))
    const [arrived] = await bobInbox.count(1, 'the message at bob')
    expect(arrived?.text).toBe('are you there?')

    // Bob's client acknowledges: alice sees it seen.
    await bobAgain.peer.group(conversation)!.acknowledge(arrived!.id)
    await seen.until('the message to be seen', (items) => items.some((m) => m.seq === sent.seq && m.state === 'seen'))
    expect((await client.history(conversation)).messages.at(-1)?.state).toBe('seen')
    await client.close()
    await alice.peer.stop()
  })

  it('acknowledges the newest message of a contact once read, and only once', async () => {
    const { client, bob, conversation, bobGroup } = await clientAndContact()
    const seen = messages(client)
    const acks = new Inbox<{ target: string }>(bob.peer, 'acknowledgement')
    const first = await bobGroup.send({ text: 'one' })
    const second = await bobGroup.send({ text: 'two' })
    await seen.until('both messages', (items) => items.filter((m) => !m.sender.own).length === 2)
    await client.markRead(conversation)
    const [ack] = await acks.count(1, 'the acknowledgement at bob')
    expect(ack?.target).toBe(second)
    expect(ack?.target).not.toBe(first)
    await client.markRead(conversation)
    await bobGroup.send({ text: 'three' })
    await seen.until('the third message', (items) => items.some((m) => m.text === 'three'))
    await client.markRead(conversation)
    await acks.count(2, 'the second acknowledgement')
    expect(acks.items).toHaveLength(2)
    await client.close()
  })

  it('sends at the next start what was typed but not sent before a crash', async () => {
    const dir = await tempDir('client')
    const { alice, client, bob, conversation } = await clientAndContact({ dataDir: dir })
    await client.close()
    await alice.peer.stop()
    // As a crash right after the person pressed Enter leaves it: written, not sealed.
    const history = await HistoryStore.open(join(dir, 'client-history'), testLogger)
    await history.append(conversation, { sender: { account: alice.peer.accountId, name: 'alice', own: true }, text: 'typed before the crash', sentAt: Date.now(), state: 'sending' })
    await history.close()

    const bobInbox = new Inbox<MessageEvent>(bob.peer, 'message')
    const again = await startPeer({ displayName: 'alice', delivery: 'manual', dataDir: dir, listen: ['/ip4/127.0.0.3/tcp/0'], bootstrap: bob.peer.multiaddrs.filter((a) => !a.includes('/ws')) })
    const reopened = await ChatClient.open({ peer: again.peer, dataDir: dir, logger: testLogger })
    const [arrived] = await bobInbox.count(1, 'the message at bob')
    expect(arrived?.text).toBe('typed before the crash')
    await reopened.close()
  })

  it('pages back through a long history, and learns a bot\'s commands from its /help answer', async () => {
    const { client, conversation, bobGroup } = await clientAndContact()
    const seen = messages(client)
    for (let i = 1; i <= 120; i++) await bobGroup.send({ text: `message ${i}` })
    await bobGroup.send({ text: 'Commands:\n/roll <sides> - roll a die\n/subscribe - get the announcements (also /sub)\n/help - this list' })
    await seen.until('all 121 messages', (items) => items.length === 121, 60_000)
    const newest = await client.history(conversation, { limit: 50 })
    expect(newest.messages).toHaveLength(50)
    expect(newest.more).toBe(true)
    const older = await client.history(conversation, { before: newest.messages[0]!.seq, limit: 50 })
    expect(older.messages.at(-1)!.seq).toBe(newest.messages[0]!.seq - 1)
    const oldest = await client.history(conversation, { before: older.messages[0]!.seq, limit: 50 })
    expect(oldest.messages.map((m) => m.text)).toEqual(Array.from({ length: 21 }, (_, i) => `message ${i + 1}`))
    expect(oldest.more).toBe(false)
    expect((await client.conversation(conversation)).commands).toEqual([
      { usage: '/roll <sides>', description: 'roll a die' },
      { usage: '/subscribe', description: 'get the announcements' },
      { usage: '/help', description: 'this list' }
    ])
    await client.close()
  }, 120_000)
})
