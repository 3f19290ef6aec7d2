/**
 * Keeps every conversation of the bot registered with the replicas of its
 * configuration, so that they serve its messages while it is down. Each
 * (group, replica) pair is registered once and remembered in the store.
 */
import type { Logger, Peer } from '../protocol/index.ts'
import type { BotStore } from './store.ts'

export async function registerWithReplicas (peer: Peer, store: BotStore, replicas: string[], options: { running: () => boolean, logger: Logger }): Promise<void> {
  for (const group of peer.groups()) {
    for (const link of replicas) {
      if (!options.running() || await store.isReplicated(group.id, link)) continue
      try {
        await group.addReplica(link)
        await store.setReplicated(group.id, link)
      } catch (err) {
        options.logger.warn({ err, group: group.id }, 'could not register a group with a replica; will try again')
      }
    }
  }
}
