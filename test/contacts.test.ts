import { describe, expect, it } from 'vitest'
import type { ContactAcceptedEvent, ContactRequestEvent, MessageEvent } from '../src/protocol/index.ts'
import { startPeers } from './helpers/peers.ts'
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
  })
})
