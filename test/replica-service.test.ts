import { join } from 'node:path'
import { lpStream } from '@libp2p/utils'
import { LevelBlockstore } from 'blockstore-level'
import { ClassicLevel } from 'classic-level'
import { describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { concatBytes, generateSigningKeyPair, randomBytes, sign, utf8ToBytes } from '../src/protocol/crypto.ts'
import { dagCbor, encodeCbor, keyToId } from '../src/protocol/encoding.ts'
import { encodeReplicaLink, LEGACY_REPLICATION_PROTOCOL, REPLICATION_PROTOCOL, requestReplication } from '../src/protocol/replication.ts'
import { StateStore } from '../src/protocol/state-store.ts'
import { createReplica, decodeInvitation, decodeReplicaLink, type ContactAcceptedEvent, type ContactRequestEvent, type MessageEvent, type Replica } from '../src/protocol/index.ts'
import { startPeer } from './helpers/peers.ts'
import { allBlocks, startPlainOrbitDB } from './helpers/plain-orbitdb.ts'
import { LogCapture } from './helpers/log-capture.ts'
import { tempDir } from './helpers/temp.ts'
import { Inbox, waitFor } from './helpers/wait.ts'

async function startReplica (dataDir: string): Promise<Replica> {
  return await createReplica({ dataDir, logger: new LogCapture('warn').logger })
}

describe('a replica', () => {
  it('delivers what a contact wrote while both were offline, from the replica alone, once, without being able to read it', async () => {
    const replicaDir = await tempDir('replica')
    const replica = await startReplica(replicaDir)
    // Names long enough that base58 hashes in the entries cannot contain them by chance.
    const names = ['alice-display-name-xyzzy', 'bob-display-name-xyzzy']
    const alice = await startPeer({ displayName: names[0] })
    const bob = await startPeer({ displayName: names[1] })

    // Alice and bob become contacts.
    const requests = new Inbox<ContactRequestEvent>(bob.peer, 'contactRequest')
    const accepted = new Inbox<ContactAcceptedEvent>(alice.peer, 'contactAccepted')
    await alice.peer.addContact(bob.peer.contactLink())
    const [request] = await requests.count(1)
    const bobGroup = await request!.accept()
    const [{ group: aliceGroup }] = await accepted.count(1) as [ContactAcceptedEvent]

    // Alice asks the replica to keep their group; bob learns of it from the group itself.
    const stored = new Set<string>()
    replica.on('entry', (e) => { if (e.group === aliceGroup.id) stored.add(e.hash) })
    await aliceGroup.addReplica(replica.link())
    await waitFor('bob to learn of the replica', (done) => {
      const check = (): void => { if (bobGroup.replicas().some((r) => r.peerId === replica.peerId)) done(true) }
      const timer = setInterval(check, 50)
      check()
      return () => { clearInterval(timer) }
    })

    await bob.peer.stop()
    const texts = Array.from({ length: 20 }, (_, i) => `written while bob was away, number ${i}`)
    const sent: string[] = []
    for (const text of texts) sent.push(await aliceGroup.send({ text }))
    await waitFor('the replica to hold the 20 messages', (done) => {
      const check = (): void => { if (sent.every((id) => stored.has(id))) done(true) }
      replica.on('entry', check)
      check()
      return () => { replica.off('entry', check) }
    })
    await alice.peer.stop()

    // Bob comes back with no bootstrap: alice is gone, the replica is all there is.
    const back = await startPeer({ dataDir: bob.dataDir })
    const inbox = new Inbox<MessageEvent>(back.peer, 'message')
    await inbox.until('bob to get the 20 messages from the replica', (ms) => sent.every((id) => ms.some((m) => m.id === id)), 60_000)
    expect(inbox.items.map((m) => m.text)).toEqual(texts)
    expect(new Set(inbox.items.map((m) => m.id)).size).toBe(inbox.items.length)
    await back.peer.stop()

    // The replica held everything, and could read none of it: neither the entries it keeps nor any other block.
    await replica.stop()
    const held: Uint8Array[] = []
    const state = await StateStore.open(replicaDir)
    for await (const { bytes } of state.entries()) held.push(bytes)
    await state.close()
    expect(held.length).toBeGreaterThanOrEqual(20)
    const blocks = new LevelBlockstore(join(replicaDir, 'ipfs', 'blocks'))
    await blocks.open()
    for await (const { bytes } of allBlocks(blocks)) held.push(bytes)
    await blocks.close()
    for (const bytes of held) {
      for (const text of [...texts, ...names]) expect(Buffer.from(bytes).includes(Buffer.from(text))).toBe(false)
    }
  })

  it('keeps its groups across a restart', async () => {
    const replicaDir = await tempDir('replica')
    let replica = await startReplica(replicaDir)
    const alice = await startPeer({ displayName: 'alice' })
    const group = await alice.peer.createGroup({ name: 'kept' })
    await group.addReplica(replica.link())
    expect(replica.groups().map((g) => g.id)).toEqual([group.id])
    expect(replica.groups()[0]!.logAddresses).toEqual(group.logAddresses)
    await replica.stop()
    replica = await startReplica(replicaDir)
    expect(replica.groups().map((g) => g.id)).toEqual([group.id])
    await replica.stop()
  })

  it('refuses a request without its access token, and a tampered link', async () => {
    const replica = await startReplica(await tempDir('replica'))
    const { keys } = decodeInvitation((await (await startPeer()).peer.createGroup({ name: 'g' })).invitation())
    const link = decodeReplicaLink(replica.link())
    const node = await startPlainOrbitDB(await tempDir('client'), { anonymous: true })
    const stream = await node.libp2p.dialProtocol(multiaddr(link.hints[0] as string), REPLICATION_PROTOCOL)
    await expect(requestReplication(stream, {
      link: { ...link, token: randomBytes(32) },
      group: { pk: keys.publicKey, signPub: keys.signing.publicKey, linkKey: keys.linkKey, linkKeySig: keys.linkKeySig as Uint8Array },
      signing: keys.signing,
      signal: AbortSignal.timeout(10_000)
    })).rejects.toThrow(/wrong access token/)
    expect(replica.groups()).toHaveLength(0)
    await node.stop()

    const alice = await startPeer()
    const group = await alice.peer.createGroup({ name: 'g2' })
    await expect(group.addReplica(replica.link().slice(0, -8))).rejects.toMatchObject({ reason: 'damaged' })
    await expect(group.addReplica(group.invitation())).rejects.toMatchObject({ reason: 'wrong-kind' })
    await replica.stop()
  })

  it('refuses a request with its token that is not signed by the group\'s signing key', async () => {
    const replica = await startReplica(await tempDir('replica'))
    const { keys } = decodeInvitation((await (await startPeer()).peer.createGroup({ name: 'g' })).invitation())
    const link = decodeReplicaLink(replica.link())
    const node = await startPlainOrbitDB(await tempDir('client'), { anonymous: true })
    const group = { pk: keys.publicKey, signPub: keys.signing.publicKey, linkKey: keys.linkKey, linkKeySig: keys.linkKeySig as Uint8Array }
    // Another key, or the right key over a request made for another replica.
    for (const proof of [{ signing: generateSigningKeyPair(), link }, { signing: keys.signing, link: { ...link, accountKey: generateSigningKeyPair().publicKey } }]) {
      const stream = await node.libp2p.dialProtocol(multiaddr(link.hints[0] as string), REPLICATION_PROTOCOL)
      await expect(requestReplication(stream, { link: proof.link, group, signing: proof.signing, signal: AbortSignal.timeout(10_000) }))
        .rejects.toThrow(/not signed by the group's signing key/)
    }
    expect(replica.groups()).toHaveLength(0)
    await node.stop()
    await replica.stop()
  })

  it('takes an earlier build\'s request, signed by the member\'s account, and keeps no account; a member of this build tells an earlier replica apart', async () => {
    const replicaDir = await tempDir('replica')
    const log = new LogCapture('debug')
    const replica = await createReplica({ dataDir: replicaDir, logger: log.logger })
    const { keys } = decodeInvitation((await (await startPeer()).peer.createGroup({ name: 'g' })).invitation())
    const link = decodeReplicaLink(replica.link())
    const member = generateSigningKeyPair()
    const node = await startPlainOrbitDB(await tempDir('client'), { anonymous: true })
    // The request as earlier builds wrote it, byte for byte.
    const group = { pk: keys.publicKey, signPub: keys.signing.publicKey, linkKey: keys.linkKey, linkKeySig: keys.linkKeySig as Uint8Array }
    const signed = concatBytes(utf8ToBytes('bertybot/replicate/v1'), link.token, group.pk, group.signPub, group.linkKey)
    const ask = async (sig: Uint8Array): Promise<unknown> => {
      const stream = await node.libp2p.dialProtocol(multiaddr(link.hints[0] as string), LEGACY_REPLICATION_PROTOCOL)
      const lp = lpStream(stream)
      await lp.write(encodeCbor({ token: link.token, group, member: member.publicKey, sig }))
      const answer = dagCbor.decode((await lp.read()).subarray())
      await stream.close()
      return answer
    }
    expect(await ask(sign(generateSigningKeyPair(), signed))).toMatchObject({ ok: false, error: 'the request is not signed by the member' })
    expect(replica.groups()).toHaveLength(0)
    expect(await ask(sign(member, signed))).toEqual({ ok: true })
    expect(replica.groups().map((g) => g.id)).toEqual([keyToId(keys.publicKey)])
    await node.stop()
    await replica.stop()
    const needles = [Buffer.from(member.publicKey), Buffer.from(keyToId(member.publicKey))]
    for (const needle of needles) expect(Buffer.from(JSON.stringify(log.lines)).includes(needle)).toBe(false)
    const state = new ClassicLevel<string, Uint8Array>(join(replicaDir, 'state'), { valueEncoding: 'view' })
    for await (const [key, value] of state.iterator()) {
      for (const needle of needles) expect(Buffer.from(key).includes(needle) || Buffer.from(value).includes(needle)).toBe(false)
    }
    await state.close()

    // A replica of an earlier build speaks only that version: this build's member says so, and sends it no account.
    const earlier = await startPlainOrbitDB(await tempDir('earlier'), { anonymous: true })
    await earlier.libp2p.handle(LEGACY_REPLICATION_PROTOCOL, (stream) => { stream.abort(new Error('an earlier replica was asked')) })
    const earlierLink = encodeReplicaLink(generateSigningKeyPair(), randomBytes(32), earlier.libp2p.getMultiaddrs().map((a) => a.toString()))
    const alice = await startPeer()
    const aliceGroup = await alice.peer.createGroup({ name: 'g3' })
    await expect(aliceGroup.addReplica(earlierLink)).rejects.toThrow(/earlier bertybot.*upgrade the replica/)
    await earlier.stop()
  })
})
