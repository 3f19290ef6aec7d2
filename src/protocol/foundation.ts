/**
 * What every long-running peer of ours stands on, peers and replicas alike:
 * the data directory (0700), the identity keys, the state database, the
 * network node, what the group logs share, and the log sync.
 */
import { mkdir } from 'node:fs/promises'
import { EntryCache } from './entry-cache.ts'
import type { LogStoreContext } from './group-log.ts'
import { loadOrCreateIdentity, type IdentityKeys } from './keystore.ts'
import { LogSync } from './log-sync.ts'
import { namespaced, type Logger } from './logger.ts'
import { startNode, type Node, type NodeOptions } from './node.ts'
import { StateStore } from './state-store.ts'

export interface Foundation {
  identity: IdentityKeys
  state: StateStore
  node: Node
  /** What the group logs share: the state database, the blockstore, the entry cache. */
  logs: LogStoreContext
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
    node = await startNode(options, { entries: async (hash) => await state.entryBytes(hash).catch(() => undefined) }, namespaced(logger, 'protocol:node'))
    const logs: LogStoreContext = { state, blocks: node.blocks, cache: new EntryCache() }
    const helia = node.helia
    const sync = new LogSync(node.libp2p, namespaced(logger, 'protocol:sync'), {
      fetchBlock: async (cid, signal) => {
        const chunks: Uint8Array[] = []
        for await (const chunk of helia.blockstore.get(cid, { signal })) chunks.push(chunk)
        return chunks.length === 1 ? chunks[0] as Uint8Array : Buffer.concat(chunks)
      }
    })
    await sync.start()
    return await build({ identity, state, node, logs, sync })
  } catch (err) {
    await node?.stop().catch(() => {})
    await state.close().catch(() => {})
    throw err
  }
}
