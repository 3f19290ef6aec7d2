/**
 * A replica following a group to its next epochs. When a member is removed,
 * the group moves to new logs under new keys; the entry that starts the new
 * epoch carries, beside what is sealed with the group secret, the new
 * epoch's public parts sealed with the old epoch's link key (`EpochPointer`),
 * which a replica holds: it keeps the new epoch as it keeps a group a member
 * registered, with the same four things (group key, signing key's public
 * half, link key and the group key's signature of it), and never the secret.
 *
 * A replica cannot tell an admin's epoch change from one written by anyone
 * else holding the old secret (a member removed, say): it follows every
 * pointer whose new group key signed its link key. That costs it two logs
 * that nobody uses, as such a writer could make it keep entries nobody reads.
 */
import { keyToId } from './encoding.ts'
import { openEpochPointer } from './epoch-envelope.ts'
import { groupPayloadSchema } from './log-entry.ts'
import type { Logger } from './logger.ts'
import type { KeptGroup } from './replica-records.ts'

export interface EpochFollowerDeps {
  /** Whether the replica keeps the group of this key already. */
  keeps: (pk: Uint8Array) => boolean
  /** Records and opens a group's next epoch. */
  keep: (group: KeptGroup) => Promise<void>
  logger: Logger
}

export class EpochFollower {
  readonly #deps: EpochFollowerDeps

  constructor (deps: EpochFollowerDeps) {
    this.#deps = deps
  }

  /** Looks for epoch pointers in entries of `group`'s metadata log, and keeps the epochs they lead to. */
  async take (group: KeptGroup, entries: Iterable<{ payload: unknown }>): Promise<void> {
    for (const entry of entries) {
      const payload = groupPayloadSchema.safeParse(entry.payload)
      if (!payload.success || payload.data.epoch === undefined) continue
      const pointer = openEpochPointer(group.linkKey, group.pk, payload.data.epoch)
      if (pointer === undefined) {
        this.#deps.logger.warn({ group: keyToId(group.pk) }, 'dropped an epoch pointer that does not open with the link key, or whose link key is not signed')
        continue
      }
      if (this.#deps.keeps(pointer.pk)) continue
      this.#deps.logger.info({ group: keyToId(group.pk), epoch: keyToId(pointer.pk) }, 'following a group to its next epoch')
      await this.#deps.keep({ ...pointer, follows: group.pk })
    }
  }
}
