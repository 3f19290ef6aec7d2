/**
 * Waits on what a group's `groupChanged` events tell (its admins, its epoch,
 * whether this peer was removed), never on the clock.
 */
import type { Group, Peer } from '../../src/protocol/index.ts'
import { waitFor } from './wait.ts'

/** Resolves with the group once `holds(group)` is true, looked at now and at each of its `groupChanged` events. */
export async function groupState (peer: Peer, groupId: string, what: string, holds: (group: Group) => boolean, timeoutMs?: number): Promise<Group> {
  return await waitFor(what, (done) => {
    const look = (): void => {
      const group = peer.group(groupId)
      if (group !== undefined && holds(group)) done(group)
    }
    const onChanged = ({ group }: { group: Group }): void => { if (group.id === groupId) look() }
    peer.on('groupChanged', onChanged)
    peer.on('groupOpened', onChanged)
    look()
    return () => {
      peer.off('groupChanged', onChanged)
      peer.off('groupOpened', onChanged)
    }
  }, timeoutMs)
}
