/**
 * What every long-running peer of ours stands on, peers and replicas alike:
 * the data directory (0700), the identity keys, the state database, the
 * network node, our access controller registered, and the log sync.
 */
import { mkdir } from 'node:fs/promises'
import { useAccessController } from '@orbitdb/core'
import { GroupAccessController } from './access-controller.ts'
import { loadOrCreateIdentity, type IdentityKeys } from './keystore.ts'
import { LogSync } from './log-sync.ts'
import { namespaced, type Logger } from './logger.ts'
import { startNode, type Node, type NodeOptions } from './node.ts'
import { StateStore } from './state-store.ts'

export interface Foundation {
  identity: IdentityKeys
  state: StateStore
  node: Node
  sync: LogSync
}

/**
 * Opens it all; then runs `build` on it, and if anything fails closes what
 * was opened, so a failed start leaves nothing running.
 */
export async function withFoundation<T> (options: NodeOptions, logger: Logger, build: (foundation: Foundation) => Promise<T>): Promise<T> {
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 })
  const identity = await loadOrCreateIdentity(options.dataDir, logger)
  const state = await StateStore.open(options.dataDir)
  let node: Node | undefined
  try {
    node = await startNode(options)
    // Process-wide registry: lets OrbitDB open any group log by address.
    useAccessController(GroupAccessController)
    const sync = new LogSync(node.libp2p, namespaced(logger, 'protocol:sync'))
    await sync.start()
    return await build({ identity, state, node, sync })
  } catch (err) {
    await node?.stop().catch(() => {})
    await state.close().catch(() => {})
    throw err
  }
}
