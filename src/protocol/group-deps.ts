/** What a group needs from its peer (`group.ts`, and each of its epochs, `group-epoch.ts`). */
import type { Libp2p } from '@libp2p/interface'
import type { AbortOptions } from './abort.ts'
import type { DeliveringEmitter } from './events.ts'
import type { FileStore } from './file-store.ts'
import type { GroupLogDeps } from './group-log.ts'
import type { Group } from './handles.ts'
import type { IdentityKeys } from './keystore.ts'
import type { LogSync } from './log-sync.ts'
import type { Logger } from './logger.ts'
import type { NodeServices } from './node.ts'
import type { StateStore } from './state-store.ts'

export interface GroupDeps {
  identity: IdentityKeys
  state: StateStore
  logs: GroupLogDeps
  sync: LogSync
  libp2p: Libp2p<NodeServices>
  logger: Logger
  now: () => number
  displayName: string | undefined
  events: DeliveringEmitter
  joinGroup: (invitation: string, options?: AbortOptions) => Promise<Group>
  multiaddrs: () => string[]
  /** Told of every other account seen with a device in the group (contacts learn of acceptances this way). */
  onMemberSeen: (group: Group, account: string) => void
  /** The peer's files: what messages carry, stored and read. */
  files: FileStore
  /** Told when this peer has left a group (`group.leave()`): the peer forgets it. */
  onLeft: (group: Group) => void
}
