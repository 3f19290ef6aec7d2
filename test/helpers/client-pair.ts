import { ChatClient } from '../../src/client/index.ts'
import type { ContactAcceptedEvent, ContactRequestEvent, Group, PeerOptions } from '../../src/protocol/index.ts'
import { startPeer, type TestPeer } from './peers.ts'
import { Inbox } from './wait.ts'

export interface ClientPair {
  alice: TestPeer
  client: ChatClient
  bob: TestPeer
  /** Their contact conversation's id. */
  conversation: string
  /** The conversation as bob's peer holds it. */
  bobGroup: Group
}

/**
 * Alice runs a client (logging into her peer's capture) on a manual-delivery
 * peer made with `aliceOptions`; bob is a plain peer; they become contacts.
 */
export async function clientAndContact (aliceOptions: Partial<PeerOptions> = {}): Promise<ClientPair> {
  const alice = await startPeer({ displayName: 'alice', delivery: 'manual', ...aliceOptions })
  const client = await ChatClient.open({ peer: alice.peer, dataDir: alice.dataDir, logger: alice.log.logger })
  const bob = await startPeer({ displayName: 'bob' })
  const requests = new Inbox<ContactRequestEvent>(bob.peer, 'contactRequest')
  const accepted = new Inbox<ContactAcceptedEvent>(alice.peer, 'contactAccepted')
  await client.addContact(bob.peer.contactLink())
  const [request] = await requests.count(1, 'the request at bob')
  const bobGroup = await request!.accept()
  const [done] = await accepted.count(1, 'the acceptance at alice')
  return { alice, client, bob, conversation: done!.group.id, bobGroup }
}
