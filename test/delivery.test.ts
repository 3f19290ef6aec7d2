import { describe, expect, it } from 'vitest'
import { keyToId } from '../src/protocol/encoding.ts'
import type { AcknowledgementEvent, GroupInvitationEvent, MemberJoinedEvent, MessageEvent } from '../src/protocol/index.ts'
import { HostileMember } from './helpers/hostile-member.ts'
import { formGroup, startPeer, startPeers } from './helpers/peers.ts'
import { tempDir } from './helpers/temp.ts'
import { Inbox } from './helpers/wait.ts'

describe('app messages', () => {
  it('carry acknowledgements and group invitations, and an invitation can be accepted', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const [ga, gb] = await formGroup([alice!.peer, bob!.peer])
    const acks = new Inbox<AcknowledgementEvent>(alice!.peer, 'acknowledgement')
    const invitations = new Inbox<GroupInvitationEvent>(bob!.peer, 'groupInvitation')
    const bobMessages = new Inbox<MessageEvent>(bob!.peer, 'message')

    const id = await ga!.send({ text: 'did you get this?' })
    await bobMessages.until('bob to get it', (ms) => ms.some((m) => m.id === id))
    await gb!.acknowledge(id)
    const [ack] = await acks.count(1, 'the acknowledgement')
    expect(ack!.target).toBe(id)
    expect(ack!.sender.account).toBe(bob!.peer.accountId)

    const ops = await alice!.peer.createGroup({ name: 'ops' })
    await ga!.sendInvitation(ops.invitation())
    const [invitation] = await invitations.count(1, 'the invitation')
    expect(invitation!.groupName).toBe('ops')
    expect(invitation!.sender.account).toBe(alice!.peer.accountId)
    const joined = await invitation!.accept()
    expect(joined.id).toBe(ops.id)
    expect(bob!.peer.group(ops.id)).toBe(joined)

    await expect(ga!.sendInvitation('not an invitation')).rejects.toMatchObject({ reason: 'not-a-link' })
  })
})

describe('sealed messages, for durable outboxes', () => {
  it('are sent once, however many times they are sent', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const [ga] = await formGroup([alice!.peer, bob!.peer])
    const inbox = new Inbox<MessageEvent>(bob!.peer, 'message')
    const sealed = await ga!.seal({ text: 'sealed once' })
    const first = await ga!.sendSealed(sealed)
    // As after a crash between sending and recording it: sent again.
    expect(await ga!.sendSealed(sealed)).toBe(first)
    const after = await ga!.send({ text: 'next' })
    await inbox.until('bob to get both', (ms) => ms.some((m) => m.id === after))
    expect(inbox.items.map((m) => m.text)).toEqual(['sealed once', 'next'])
    await expect(ga!.sendSealed({ group: 'another group', bytes: sealed.bytes })).rejects.toThrow(/sealed for group/)
  })

  it('carry the sender\'s chain key to new members only once in the log: a sealed message lost in a crash leaves the next one to carry it', async () => {
    const alice = await startPeer({ displayName: 'alice' })
    const bob = await startPeer({ displayName: 'bob' })
    // Bob joins after alice's device was announced: her key reaches him with her first message.
    const [ga] = await formGroup([alice.peer, bob.peer])
    const inbox = new Inbox<MessageEvent>(bob.peer, 'message')
    // Sealed, its counter spent, then the process dies before anyone stored the bytes.
    await ga!.seal({ text: 'lost with the crash' })
    await alice.peer.stop()

    const again = await startPeer({ dataDir: alice.dataDir })
    await again.peer.group(ga!.id)!.send({ text: 'after the restart' })
    await inbox.until('bob to read the message after the restart', (ms) => ms.some((m) => m.text === 'after the restart'))
    expect(inbox.items.map((m) => m.text)).toEqual(['after the restart'])
  })
})

describe('manual delivery', () => {
  it('delivers again after a restart what was not marked handled, and only that', async () => {
    const alice = await startPeer({ displayName: 'alice' })
    const bob = await startPeer({ displayName: 'bob', delivery: 'manual' })
    const [ga] = await formGroup([alice.peer, bob.peer])
    const inbox = new Inbox<MessageEvent>(bob.peer, 'message')
    for (const text of ['one', 'two', 'three']) await ga!.send({ text })
    await inbox.count(3, 'three messages')
    await inbox.items[0]!.markHandled()
    await inbox.items[0]!.markHandled() // idempotent
    await bob.peer.stop()

    // Restart; the group's log already holds the messages, so they are delivered while the peer
    // opens, before anyone listens: they must be held for the first listener.
    const again = await startPeer({ dataDir: bob.dataDir, delivery: 'manual' })
    const redelivered = new Inbox<MessageEvent>(again.peer, 'message')
    await redelivered.count(2, 'the two unhandled messages')
    expect(redelivered.items.map((m) => m.text)).toEqual(['two', 'three'])
    for (const m of redelivered.items) await m.markHandled()

    // Handled now: a further restart delivers nothing of them, and new messages still come.
    await again.peer.stop()
    const third = await startPeer({ dataDir: bob.dataDir, delivery: 'manual' })
    const later = new Inbox<MessageEvent>(third.peer, 'message')
    await ga!.send({ text: 'four' })
    await later.until('the new message', (ms) => ms.some((m) => m.text === 'four'))
    expect(later.items.map((m) => m.text)).toEqual(['four'])
  })

  it('delivers again a message left unhandled behind a later message of its own', async () => {
    const alice = await startPeer({ displayName: 'alice' })
    const bob = await startPeer({ displayName: 'bob', delivery: 'manual' })
    const [ga, gb] = await formGroup([alice.peer, bob.peer])
    const inbox = new Inbox<MessageEvent>(bob.peer, 'message')
    const one = await ga!.send({ text: 'one' })
    await inbox.until('bob to get it', (ms) => ms.some((m) => m.id === one))
    // Bob writes after it without marking it handled (a bot replies before its handler is done).
    await gb!.send({ text: 'an answer, written after' })
    await bob.peer.stop()
    const again = await startPeer({ dataDir: bob.dataDir, delivery: 'manual' })
    const redelivered = new Inbox<MessageEvent>(again.peer, 'message')
    await redelivered.until('the unhandled message again', (ms) => ms.some((m) => m.id === one))
  })

  it('delivers again every message left unhandled while later ones of the same sender were handled, past the keys it holds in memory', async () => {
    const alice = await startPeer({ displayName: 'alice' })
    const bob = await startPeer({ displayName: 'bob', delivery: 'manual' })
    const [ga] = await formGroup([alice.peer, bob.peer])
    const inbox = new Inbox<MessageEvent>(bob.peer, 'message')
    // More than MAX_HELD_KEYS (8) unhandled at once: the later keys are kept on disk on their own.
    const texts = Array.from({ length: 40 }, (_, i) => `m${i}`)
    for (const text of texts) await ga!.send({ text })
    await inbox.count(texts.length, 'all forty')
    // Handled out of order: every odd one, the last first. Each writes the sender's chain, which must keep the others' keys.
    const odd = inbox.items.filter((_, i) => i % 2 === 1).reverse()
    for (const m of odd) await m.markHandled()
    await bob.peer.stop()

    const again = await startPeer({ dataDir: bob.dataDir, delivery: 'manual' })
    const redelivered = new Inbox<MessageEvent>(again.peer, 'message')
    const even = texts.filter((_, i) => i % 2 === 0)
    await redelivered.count(even.length, 'the twenty unhandled ones')
    expect(redelivered.items.map((m) => m.text)).toEqual(even)
    for (const m of redelivered.items) await m.markHandled()
    await again.peer.stop()

    const third = await startPeer({ dataDir: bob.dataDir, delivery: 'manual' })
    const later = new Inbox<MessageEvent>(third.peer, 'message')
    await ga!.send({ text: 'after' })
    await later.until('the new message', (ms) => ms.some((m) => m.text === 'after'))
    expect(later.items.map((m) => m.text)).toEqual(['after'])
  })

  it('does not deliver twice in one session what is not yet handled', async () => {
    const alice = await startPeer({ displayName: 'alice' })
    const bob = await startPeer({ displayName: 'bob', delivery: 'manual' })
    const [ga] = await formGroup([alice.peer, bob.peer])
    const inbox = new Inbox<MessageEvent>(bob.peer, 'message')
    await ga!.send({ text: 'once' })
    await inbox.count(1)
    // More traffic makes the peer walk the log again; the unhandled message must not come back.
    for (let i = 0; i < 5; i++) await ga!.send({ text: `more ${i}` })
    await inbox.until('the rest', (ms) => ms.some((m) => m.text === 'more 4'))
    expect(inbox.items.filter((m) => m.text === 'once')).toHaveLength(1)
  })
})

describe('a message that arrives before its sender\'s chain key', () => {
  it('waits for the key, holds back what came after it, then arrives in order', async () => {
    const alice = await startPeer({ displayName: 'alice' })
    const bob = await startPeer({ displayName: 'bob', logLevel: 'debug' })
    const [ga] = await formGroup([alice.peer, bob.peer])
    const joins = [alice, bob].map((p) => new Inbox<MemberJoinedEvent>(p.peer, 'memberJoined'))
    const aliceInbox = new Inbox<MessageEvent>(alice.peer, 'message')
    const bobInbox = new Inbox<MessageEvent>(bob.peer, 'message')
    const mallory = await HostileMember.join(ga!.invitation(), ga!.logAddresses, alice.peer.multiaddrs[0] as string, await tempDir('mallory'))
    try {
      // Mallory joins and gives her chain key to alice; bob's is sealed now but reaches the log late.
      await mallory.announce()
      await mallory.shareChainKey([alice.peer.accountId])
      const postBobsKey = mallory.sealChainKey([bob.peer.accountId])
      const malloryId = keyToId(mallory.account.publicKey)
      await Promise.all(joins.map(async (inbox) => await inbox.until('mallory to join', (items) => items.some((e) => e.member.account === malloryId))))
      const early = await mallory.append(mallory.text('before my key'))

      // Alice reads it and answers: her answer depends on it.
      await aliceInbox.until('alice to read mallory', (ms) => ms.some((m) => m.id === early))
      const answer = await ga!.send({ text: 'answer to mallory', replyTo: early })

      // Bob cannot read mallory's message yet, so he holds alice's answer back behind it.
      await bob.log.waitForLine('bob to hold the answer back', (l) => l.entry === answer && String(l.msg).startsWith('message held back'))
      expect(bobInbox.items).toHaveLength(0)

      await postBobsKey()
      await bobInbox.count(2, 'both messages at bob')
      expect(bobInbox.items.map((m) => m.text)).toEqual(['before my key', 'answer to mallory'])
    } finally {
      await mallory.stop()
    }
  })
})
