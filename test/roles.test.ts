import { describe, expect, it } from 'vitest'
import { keyToId } from '../src/protocol/encoding.ts'
import { MetadataEventType, sealMetadataEvent } from '../src/protocol/envelope.ts'
import { InvalidOptionError, NotAdminError, type MemberJoinedEvent } from '../src/protocol/index.ts'
import { groupState } from './helpers/group-state.ts'
import { HostileMember } from './helpers/hostile-member.ts'
import { formGroup, startPeers } from './helpers/peers.ts'
import { tempDir } from './helpers/temp.ts'
import { Inbox } from './helpers/wait.ts'

describe('roles', () => {
  it('makes the creator the first admin; admins grant and revoke the role, and every member sees it', async () => {
    const [alice, bob, carol] = await startPeers(['alice', 'bob', 'carol'])
    const [ga, gb, gc] = await formGroup([alice!.peer, bob!.peer, carol!.peer])
    const [a, b, c] = [alice!.peer.accountId, bob!.peer.accountId, carol!.peer.accountId]
    for (const [peer, group] of [[alice!, ga], [bob!, gb], [carol!, gc]] as const) {
      await groupState(peer.peer, group!.id, 'the creator to be admin', (g) => g.admins().join() === a)
      expect(group!.members().find((m) => m.account === a)?.role).toBe('admin')
      expect(group!.members().find((m) => m.account === b)?.role).toBe('member')
    }

    await expect(gb!.grantAdmin(b)).rejects.toBeInstanceOf(NotAdminError)
    await expect(gb!.revokeAdmin(a)).rejects.toBeInstanceOf(NotAdminError)
    await ga!.grantAdmin(b)
    expect(ga!.admins().sort()).toEqual([a, b].sort())
    for (const [peer, group] of [[bob!, gb], [carol!, gc]] as const) {
      await groupState(peer.peer, group!.id, 'bob to be admin', (g) => g.admins().includes(b))
    }
    // The new admin acts as one: it revokes the creator's role.
    await gb!.revokeAdmin(a)
    for (const [peer, group] of [[alice!, ga], [bob!, gb], [carol!, gc]] as const) {
      await groupState(peer.peer, group!.id, 'only bob to be admin', (g) => g.admins().join() === b)
    }
    await expect(ga!.grantAdmin(c)).rejects.toBeInstanceOf(NotAdminError)
    await expect(ga!.grantAdmin('not an account')).rejects.toBeInstanceOf(InvalidOptionError)
  })

  it('drops, with a logged reason, a role granted by a member who is not an admin', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const [ga, gb] = await formGroup([alice!.peer, bob!.peer])
    const joins = [alice!, bob!].map((p) => new Inbox<MemberJoinedEvent>(p.peer, 'memberJoined'))
    const mallory = await HostileMember.join(ga!.invitation(), ga!.logAddresses, alice!.peer.multiaddrs[0] as string, await tempDir('mallory'))
    try {
      await mallory.announce()
      const malloryId = keyToId(mallory.account.publicKey)
      await Promise.all(joins.map(async (inbox) => await inbox.until('mallory to join', (items) => items.some((e) => e.member.account === malloryId))))
      const { secret, publicKey } = mallory.keys
      const grant = await mallory.metadata.add(sealMetadataEvent(secret, publicKey, mallory.device, MetadataEventType.AdminRoleGranted, { m: mallory.account.publicKey }))
      for (const peer of [alice!, bob!]) {
        await peer.log.waitForLine('the grant to be dropped', (l) => l.msg === 'dropped a metadata entry' && l.entry === grant && l.reason === 'not-an-admin')
      }
      // An admin's grant after it still counts, and mallory's never did.
      await ga!.grantAdmin(bob!.peer.accountId)
      await groupState(bob!.peer, gb!.id, 'bob to be admin', (g) => g.admins().includes(bob!.peer.accountId))
      expect(gb!.admins().sort()).toEqual([alice!.peer.accountId, bob!.peer.accountId].sort())
    } finally {
      await mallory.stop()
    }
  })

  it('gives contact groups no admins and no one to remove', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const accepted = new Inbox<{ group: { id: string } }>(alice!.peer, 'contactAccepted')
    bob!.peer.on('contactRequest', (request) => { void request.accept() })
    await alice!.peer.addContact(bob!.peer.contactLink())
    const [{ group }] = await accepted.count(1, 'bob to accept') as [{ group: { id: string } }]
    const contactGroup = alice!.peer.group(group.id)!
    expect(contactGroup.admins()).toEqual([])
    expect(contactGroup.members().every((m) => m.role === 'member')).toBe(true)
    await expect(contactGroup.removeMember(bob!.peer.accountId)).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(contactGroup.leave()).rejects.toBeInstanceOf(InvalidOptionError)
  })
})
