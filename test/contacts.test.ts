import { multiaddr } from '@multiformats/multiaddr'
import * as dagCbor from '@ipld/dag-cbor'
import { base58btc } from 'multiformats/bases/base58'
import { describe, expect, it } from 'vitest'
import { encodeLink } from '../src/protocol/link.ts'
import { ContactRequestRefusedError, decodeContactLink, InvalidLinkError, systemClock, type Clock, type ContactAcceptedEvent, type ContactRequestEvent, type GroupInvitationEvent, type MessageEvent } from '../src/protocol/index.ts'
import { ROTATION_INTERVAL_MS, periodStart } from '../src/protocol/rendezvous.ts'
import { startPeer, startPeers } from './helpers/peers.ts'
import { Inbox } from './helpers/wait.ts'

describe('contacts', () => {
  it('A adds B by link, B accepts: both see contactAccepted, and messages flow both ways', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const requests = new Inbox<ContactRequestEvent>(bob!.peer, 'contactRequest')
    const acceptedAtAlice = new Inbox<ContactAcceptedEvent>(alice!.peer, 'contactAccepted')
    const acceptedAtBob = new Inbox<ContactAcceptedEvent>(bob!.peer, 'contactAccepted')

    const contact = await alice!.peer.addContact(bob!.peer.contactLink(), { message: 'hi, it is alice' })
    expect(contact).toMatchObject({ account: bob!.peer.accountId, displayName: 'bob', state: 'outgoing', requestDelivered: true })

    const [request] = await requests.count(1, 'the request at bob')
    expect(request).toMatchObject({ account: alice!.peer.accountId, displayName: 'alice', message: 'hi, it is alice' })
    const bobsGroup = await request!.accept()

    const [atAlice] = await acceptedAtAlice.count(1, 'alice to see the acceptance')
    const [atBob] = await acceptedAtBob.count(1, 'bob to see the acceptance')
    expect(atAlice!.contact.account).toBe(bob!.peer.accountId)
    expect(atBob!.contact.account).toBe(alice!.peer.accountId)
    expect(atAlice!.group.id).toBe(bobsGroup.id)
    expect(atAlice!.group.contact).toBe(bob!.peer.accountId)
    expect(alice!.peer.contact(bob!.peer.accountId)?.state).toBe('accepted')
    expect(bob!.peer.contact(alice!.peer.accountId)?.state).toBe('accepted')

    const aliceInbox = new Inbox<MessageEvent>(alice!.peer, 'message')
    const bobInbox = new Inbox<MessageEvent>(bob!.peer, 'message')
    await atAlice!.group.send({ text: 'hello bob' })
    await bobsGroup.send({ text: 'hello alice' })
    await bobInbox.until('bob to hear alice', (ms) => ms.some((m) => m.text === 'hello bob'))
    await aliceInbox.until('alice to hear bob', (ms) => ms.some((m) => m.text === 'hello alice'))
    expect(bobInbox.items[0]!.group.id).toBe(bobsGroup.id)
    expect(atAlice!.group.name).toBe('bob')
    expect(bobsGroup.name).toBe('alice')

    // An invitation to a group travels inside the contact group.
    const invitations = new Inbox<GroupInvitationEvent>(bob!.peer, 'groupInvitation')
    const ops = await alice!.peer.createGroup({ name: 'ops' })
    await atAlice!.group.sendInvitation(ops.invitation())
    const [invitation] = await invitations.count(1, 'the invitation at bob')
    expect(invitation!.group.id).toBe(bobsGroup.id)
    expect((await invitation!.accept()).id).toBe(ops.id)
  })

  it('lets a contactAccepted listener send at once, even when the acceptance is read while the contact group still opens', async () => {
    // Bob accepts each request as it comes, as a bot does: each requester reads the acceptance in the
    // first sync of its contact group, which its opening waits on.
    const [bob, ...requesters] = await startPeers(['bob', 'alice', 'carol', 'dave', 'erin', 'frank', 'grace'])
    bob!.peer.on('contactRequest', (request) => { void request.accept() })
    const bobInbox = new Inbox<MessageEvent>(bob!.peer, 'message')
    const sent = requesters.map(({ peer }) => new Promise<string>((resolve, reject) => {
      // Sent from the listener itself, in the turn the event comes in.
      peer.once('contactAccepted', (event) => { event.group.send({ text: `hi from ${peer.displayName ?? ''}` }).then(resolve, reject) })
    }))
    await Promise.all(requesters.map(async ({ peer }) => await peer.addContact(bob!.peer.contactLink())))
    const ids = await Promise.all(sent)
    await bobInbox.until('bob to get every first message', (ms) => ids.every((id) => ms.some((m) => m.id === id)))
    expect(bobInbox.items.map((m) => m.text).sort()).toEqual(requesters.map(({ peer }) => `hi from ${peer.displayName ?? ''}`).sort())
  })

  it('delivers a request made while the responder was offline, after the rendezvous point rotated and a restart of the requester', async () => {
    // One clock for everyone, 30 minutes before a rotation; moved an hour on while bob is away.
    let offset = (periodStart(Date.now()) * 1000 + ROTATION_INTERVAL_MS - 30 * 60_000) - Date.now()
    const now = (): number => Date.now() + offset
    // A clock that runs with the system's, moved on by `offset`.
    const clock: Clock = { now, sleepUntil: async (at, signal) => { await systemClock.sleepUntil(at - offset, signal) } }
    const dht = await startPeer({ displayName: 'always-on', clock })
    const bootstrap = [dht.peer.multiaddrs[0] as string]

    const bob = await startPeer({ displayName: 'bob', bootstrap, clock })
    const link = bob.peer.contactLink()
    const periodBefore = periodStart(now())
    await bob.peer.stop()

    let alice = await startPeer({ displayName: 'alice', bootstrap, clock })
    const pending = await alice.peer.addContact(link, { message: 'are you there?' })
    expect(pending.state).toBe('outgoing')
    expect(pending.requestDelivered).toBe(false)
    // Alice restarts: the request is on disk and she goes on trying.
    await alice.peer.stop()
    alice = await startPeer({ dataDir: alice.dataDir, bootstrap, clock })
    expect(alice.peer.contact(bob.peer.accountId)?.state).toBe('outgoing')

    offset += 60 * 60_000
    expect(periodStart(now())).toBeGreaterThan(periodBefore)
    // Bob comes back elsewhere (another loopback address: a peer keeps its ports, so the same
    // addresses would still work): the link's addresses are dead; only the rendezvous point finds him.
    const back = await startPeer({ dataDir: bob.dataDir, bootstrap, clock, listen: ['/ip4/127.0.0.2/tcp/0'] })
    expect(back.peer.multiaddrs.some((a) => decodeContactLink(link).hints.includes(a))).toBe(false)
    const requests = new Inbox<ContactRequestEvent>(back.peer, 'contactRequest')
    const accepted = new Inbox<ContactAcceptedEvent>(alice.peer, 'contactAccepted')
    const [request] = await requests.count(1, 'the request to reach bob', 60_000)
    expect(request).toMatchObject({ account: alice.peer.accountId, displayName: 'alice', message: 'are you there?' })
    await request!.accept()
    await accepted.count(1, 'alice to see bob accept', 30_000)
    expect(alice.peer.contact(back.peer.accountId)?.state).toBe('accepted')
  })

  it('refuses bad, truncated, tampered, reset and own links, each with its own error', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const link = bob!.peer.contactLink()
    const reason = async (l: string): Promise<string> => {
      try {
        await alice!.peer.addContact(l)
        return 'accepted'
      } catch (err) {
        if (err instanceof InvalidLinkError || err instanceof ContactRequestRefusedError) return err.reason
        throw err
      }
    }
    const forge = (edit: (body: Record<string, unknown>) => void): string => {
      const data = base58btc.baseDecode(link.slice('bertybot://contact/'.length))
      const body: Record<string, unknown> = dagCbor.decode(data.subarray(1, data.length - 4))
      edit(body)
      return encodeLink('contact', body)
    }
    const group = await alice!.peer.createGroup({ name: 'not a contact' })

    expect(await reason('hello')).toBe('not-a-link')
    expect(await reason(group.invitation())).toBe('wrong-kind')
    expect(await reason(link.slice(0, -12))).toBe('damaged')
    expect(await reason(forge((body) => { body.name = 'mallory' }))).toBe('tampered')
    expect(await reason(forge((body) => { body.h = [multiaddr('/ip4/127.0.0.1/tcp/1').bytes] }))).toBe('tampered')
    // In the first builds' form (text hints) too.
    expect(await reason(forge((body) => { delete body.h; delete body.p; body.hints = ['/ip4/127.0.0.1/tcp/1/p2p/12D3KooWJopZHiJzy3SA7wJEazptro9bTfK25Y14QpeicdszKkBk'] }))).toBe('tampered')
    expect(await reason(alice!.peer.contactLink())).toBe('own-link')

    const fresh = await bob!.peer.resetContactLink()
    expect(await reason(link)).toBe('link-reset')
    expect(alice!.peer.contact(bob!.peer.accountId)?.state).toBe('refused')
    // The new link works.
    const requests = new Inbox<ContactRequestEvent>(bob!.peer, 'contactRequest')
    expect((await alice!.peer.addContact(fresh)).requestDelivered).toBe(true)
    await requests.count(1, 'the request made with the new link')
  })

  it('keeps one contact for repeated requests, and makes contacts of two people who asked each other', async () => {
    const [alice, bob, carol] = await startPeers(['alice', 'bob', 'carol'])
    const requests = new Inbox<ContactRequestEvent>(bob!.peer, 'contactRequest')
    await alice!.peer.addContact(bob!.peer.contactLink(), { message: 'first' })
    await alice!.peer.addContact(bob!.peer.contactLink(), { message: 'second' })
    const accepted = new Inbox<ContactAcceptedEvent>(alice!.peer, 'contactAccepted')
    const [request] = await requests.count(1)
    await request!.accept()
    await accepted.count(1, 'alice to see the acceptance')
    expect(requests.items).toHaveLength(1)
    expect(bob!.peer.contacts().filter((c) => c.account === alice!.peer.accountId)).toHaveLength(1)

    // Carol and bob ask each other: both are contacts, nobody has to accept.
    const carolAccepted = new Inbox<ContactAcceptedEvent>(carol!.peer, 'contactAccepted')
    const bobAccepted = new Inbox<ContactAcceptedEvent>(bob!.peer, 'contactAccepted')
    await carol!.peer.addContact(bob!.peer.contactLink())
    await bob!.peer.addContact(carol!.peer.contactLink())
    await carolAccepted.until('carol to have bob', (items) => items.some((e) => e.contact.account === bob!.peer.accountId))
    await bobAccepted.until('bob to have carol', (items) => items.some((e) => e.contact.account === carol!.peer.accountId))
    expect(carol!.peer.contact(bob!.peer.accountId)?.state).toBe('accepted')
    expect(bob!.peer.contact(carol!.peer.accountId)?.state).toBe('accepted')
  })
})
