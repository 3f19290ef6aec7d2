import { describe, expect, it } from 'vitest'
import type { MemberJoinedEvent, MessageEvent } from '../src/protocol/index.ts'
import { PeerProcess } from './helpers/peer-process.ts'
import { formGroup, startPeer, startPeers } from './helpers/peers.ts'
import { tempDir } from './helpers/temp.ts'
import { Inbox, waitFor } from './helpers/wait.ts'

describe('a member that was offline', () => {
  it('finds the group again after a restart, by itself, and receives what it missed, once', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const carolDir = await tempDir('carol')
    let carol = await PeerProcess.start({ dataDir: carolDir, displayName: 'carol' })

    const aliceJoins = new Inbox<MemberJoinedEvent>(alice!.peer, 'memberJoined')
    const bobJoins = new Inbox<MemberJoinedEvent>(bob!.peer, 'memberJoined')
    const carolJoins: string[] = []
    carol.on('memberJoined', (e: { member: { account: string } }) => carolJoins.push(e.member.account))
    const ga = await alice!.peer.createGroup({ name: 'night shift' })
    const gb = await bob!.peer.joinGroup(ga.invitation())
    await carol.call('joinGroup', ga.invitation())
    await aliceJoins.until('alice to see bob and carol', (items) => new Set(items.map((e) => e.member.account)).size === 2)
    await bobJoins.until('bob to see alice and carol', (items) => new Set(items.map((e) => e.member.account)).size === 2)
    await waitFor('carol to see alice and bob', (done) => {
      const check = (): void => { if (new Set(carolJoins).size === 2) done(true) }
      carol.on('memberJoined', check)
      check()
      return () => carol.off('memberJoined', check)
    })

    const before = await ga.send({ text: 'before the break' })
    await carol.messagesUntil('carol to get the first message', (ms) => ms.some((m) => m.id === before))

    // Carol goes away; the process must end by itself once the peer is stopped.
    const exit = await carol.stop()
    expect(exit.code).toBe(0)

    const sent: string[] = []
    for (let i = 0; i < 10; i++) {
      sent.push(await ga.send({ text: `from alice ${i}` }))
      sent.push(await gb.send({ text: `from bob ${i}` }))
    }

    // Back, from the same data directory, with no bootstrap and no invitation: it must find the group by itself.
    carol = await PeerProcess.start({ dataDir: carolDir, displayName: 'carol' })
    const received = await carol.messagesUntil('carol to get the 20 messages sent while she was away', (ms) => sent.every((id) => ms.some((m) => m.id === id)), 60_000)

    // A last message: once it is in, anything else that was going to arrive has.
    const fence = await ga.send({ text: 'fence' })
    await carol.messagesUntil('carol to get the fence', (ms) => ms.some((m) => m.id === fence))
    const ids = carol.messages.map((m) => m.id)
    expect(ids).toHaveLength(new Set(ids).size)
    expect(ids).not.toContain(before)
    expect(received.filter((m) => sent.includes(m.id))).toHaveLength(20)
    // Each sender's messages arrive in the order they were sent.
    for (const who of ['alice', 'bob']) {
      const order = carol.messages.filter((m) => m.text.startsWith(`from ${who}`)).map((m) => m.text)
      expect(order).toEqual(Array.from({ length: 10 }, (_, i) => `from ${who} ${i}`))
    }

    // And the others still hear carol.
    const aliceInbox = new Inbox<MessageEvent>(alice!.peer, 'message')
    await carol.call('send', ga.id, 'back again')
    await aliceInbox.until('alice to hear carol again', (ms) => ms.some((m) => m.text === 'back again'))
    expect((await carol.stop()).code).toBe(0)
  })

  it('keeps its ports across restarts: a bot and a user that both restarted find each other, and what was sent in between arrives', async () => {
    const botDir = await tempDir('bot')
    const userDir = await tempDir('user')
    let bot = await PeerProcess.start({ dataDir: botDir, displayName: 'bot' })
    let user = await PeerProcess.start({ dataDir: userDir, displayName: 'user' })
    const { id: group, invitation } = await bot.call<{ id: string, invitation: string }>('createGroup', 'bot and user')
    await user.call('joinGroup', invitation)
    const hello = await user.call<string>('send', group, 'hello bot')
    await bot.messagesUntil('the bot to get the first message', (ms) => ms.some((m) => m.id === hello))
    const addresses = { bot: bot.multiaddrs, user: user.multiaddrs }
    expect((await bot.stop()).code).toBe(0)
    expect((await user.stop()).code).toBe(0)

    // Both were down; neither has a bootstrap. The user comes back first and writes; then the bot.
    user = await PeerProcess.start({ dataDir: userDir, displayName: 'user' })
    expect(user.multiaddrs).toEqual(addresses.user)
    const meanwhile = await user.call<string>('send', group, 'sent while you were both away')
    bot = await PeerProcess.start({ dataDir: botDir, displayName: 'bot' })
    expect(bot.multiaddrs).toEqual(addresses.bot)
    await bot.messagesUntil('the bot to get the message sent while it was away', (ms) => ms.some((m) => m.id === meanwhile), 60_000)
  })
})

describe('two members who both moved', () => {
  it('find each other again through the DHT, with only a DHT peer in common', async () => {
    const dht = await startPeer({ displayName: 'always-on' })
    const bootstrap = [dht.peer.multiaddrs[0] as string]
    const [alice, bob] = await Promise.all(['alice', 'bob'].map(async (displayName) => await startPeer({ displayName, bootstrap })))
    const [ga] = await formGroup([alice!.peer, bob!.peer])
    const aliceWas = alice!.peer.multiaddrs
    expect(aliceWas.length).toBeGreaterThan(0)
    await alice!.peer.stop()
    await bob!.peer.stop()

    // Both come back elsewhere (other loopback addresses: on their own they would keep their
    // ports): every address either remembers of the other is dead.
    const alice2 = await startPeer({ dataDir: alice!.dataDir, bootstrap, listen: ['/ip4/127.0.0.2/tcp/0'] })
    const bob2 = await startPeer({ dataDir: bob!.dataDir, bootstrap, listen: ['/ip4/127.0.0.3/tcp/0'] })
    expect(alice2.peer.multiaddrs.some((a) => aliceWas.includes(a))).toBe(false)
    const inbox = new Inbox<MessageEvent>(bob2.peer, 'message')
    const sent = await alice2.peer.group(ga!.id)!.send({ text: 'found you' })
    await inbox.until('bob to get alice\'s message', (ms) => ms.some((m) => m.id === sent), 60_000)
  })
})

describe('a newcomer whose inviter has left', () => {
  it('finds the members it never heard of through the group\'s DHT key', async () => {
    const dht = await startPeer({ displayName: 'always-on' })
    const bootstrap = [dht.peer.multiaddrs[0] as string]
    const [alice, bob] = await Promise.all(['alice', 'bob'].map(async (displayName) => await startPeer({ displayName, bootstrap })))
    const [ga, gb] = await formGroup([alice!.peer, bob!.peer])
    const invitation = ga!.invitation()
    await alice!.peer.stop()

    // The invitation's only hint is alice, who is gone; carol does not know bob exists.
    const carol = await startPeer({ displayName: 'carol', bootstrap })
    const bobJoins = new Inbox<MemberJoinedEvent>(bob!.peer, 'memberJoined')
    const gc = await carol.peer.joinGroup(invitation)
    await bobJoins.until('bob to see carol join', (items) => items.some((e) => e.member.account === carol.peer.accountId), 60_000)
    const inbox = new Inbox<MessageEvent>(carol.peer, 'message')
    const sent = await gb!.send({ text: 'welcome, carol' })
    await inbox.until('carol to get bob\'s message', (ms) => ms.some((m) => m.id === sent), 60_000)
    expect(gc.members().map((m) => m.displayName).sort()).toEqual(['alice', 'bob', 'carol'])
  })
})
