import { describe, expect, it } from 'vitest'
import type { MessageEvent, Peer } from '../src/protocol/index.ts'
import { formGroup, startPeers } from './helpers/peers.ts'
import { Inbox } from './helpers/wait.ts'

function texts (inbox: Inbox<MessageEvent>): string[] {
  return inbox.items.map((m) => m.text)
}

describe('a group of three peers', () => {
  it('delivers every member\'s messages to every other member, in causal order, once, and not its own', async () => {
    const [alice, bob, carol] = await startPeers(['alice', 'bob', 'carol'])
    const peers = [alice, bob, carol].map((p) => p!.peer) as [Peer, Peer, Peer]
    const [ga, gb, gc] = await formGroup(peers)
    const [ia, ib, ic] = peers.map((p) => new Inbox<MessageEvent>(p, 'message')) as [Inbox<MessageEvent>, Inbox<MessageEvent>, Inbox<MessageEvent>]

    // A causal chain across all three: each message is sent after its sender received the one before.
    const a1 = await ga!.send({ text: 'a1' })
    await ib.until('bob to get a1', (items) => items.some((m) => m.id === a1))
    const b1 = await gb!.send({ text: 'b1', replyTo: a1 })
    await ic.until('carol to get b1', (items) => items.some((m) => m.id === b1))
    await gc!.send({ text: 'c1' })
    await ia.until('alice to get c1', (items) => items.some((m) => m.text === 'c1'))
    await ga!.send({ text: 'a2' })

    // A last message from everyone: once all have them, whatever was going to arrive has.
    await Promise.all([ga!.send({ text: 'end-a' }), gb!.send({ text: 'end-b' }), gc!.send({ text: 'end-c' })])
    await Promise.all([
      ia.until('alice: the ends', (items) => ['end-b', 'end-c'].every((t) => items.some((m) => m.text === t))),
      ib.until('bob: the ends', (items) => ['end-a', 'end-c'].every((t) => items.some((m) => m.text === t))),
      ic.until('carol: the ends', (items) => ['end-a', 'end-b'].every((t) => items.some((m) => m.text === t)))
    ])

    expect(texts(ia).sort()).toEqual(['b1', 'c1', 'end-b', 'end-c'])
    expect(texts(ib).sort()).toEqual(['a1', 'a2', 'c1', 'end-a', 'end-c'])
    expect(texts(ic).sort()).toEqual(['a1', 'a2', 'b1', 'end-a', 'end-b'])

    // Causal order: a1 → b1 → c1 → a2 (each sent after its sender saw the previous one).
    for (const inbox of [ia, ib, ic]) {
      const order = texts(inbox).filter((t) => ['a1', 'b1', 'c1', 'a2'].includes(t))
      const expected = ['a1', 'b1', 'c1', 'a2'].filter((t) => order.includes(t))
      expect(order).toEqual(expected)
    }

    // Who said what, and what it answers.
    const b1AtCarol = ic.items.find((m) => m.text === 'b1')
    expect(b1AtCarol?.sender.account).toBe(bob!.peer.accountId)
    expect(b1AtCarol?.sender.device).toBe(bob!.peer.deviceId)
    expect(b1AtCarol?.sender.displayName).toBe('bob')
    expect(b1AtCarol?.replyTo).toBe(a1)
    expect(b1AtCarol?.group.id).toBe(ga!.id)
    expect(b1AtCarol?.sentAt).toBeInstanceOf(Date)

    // Membership as each peer sees it.
    for (const group of [ga!, gb!, gc!]) {
      expect(group.members().map((m) => m.displayName).sort()).toEqual(['alice', 'bob', 'carol'])
      expect(group.name).toBe('test group')
    }
  })
})
