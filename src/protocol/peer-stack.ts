/**
 * The stack every long-running peer of ours runs on, peers and replicas
 * alike: the data directory (0700), the identity keys, the state database,
 * the network node, what the group logs share, and the log sync. Opened and
 * started in that order, and closed again if what is built on it fails.
 */
import { mkdir } from 'node:fs/promises'
import { EntryCache } from './entry-cache.ts'
import type { GroupLogDeps } from './group-log.ts'
import { loadOrCreateIdentity, type IdentityKeys } from './keystore.ts'
import { LogSync } from './log-sync.ts'
import { namespaced, type Logger } from './logger.ts'
import { chosenPorts, withRememberedPorts } from './listen-ports.ts'
import { startNode, type Node, type NodeOptions } from './node.ts'
import { StateStore } from './state-store.ts'

export interface PeerStack {
  identity: IdentityKeys
  state: StateStore
  node: Node
  /** What the group logs share: the state database, the blockstore, the entry cache. */
  logs: GroupLogDeps
  sync: LogSync
}

/**
 * Opens it all; then runs `build` on it, and if anything fails closes what
 * was opened, so a failed start leaves nothing running.
 */
export async function withPeerStack<T> (options: NodeOptions, logger: Logger, build: (stack: PeerStack) => Promise<T>): Promise<T> {
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 })
  const identity = await loadOrCreateIdentity(options.dataDir, logger)
  const state = await StateStore.open(options.dataDir)
  let node: Node | undefined
  try {
    node = await startListening(options, state, logger)
    const logs: GroupLogDeps = { state, blocks: node.blocks, cache: new EntryCache() }
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

/**
 * Starts the node on the ports it listened on before, where its listen
 * addresses leave the port to the system (listen-ports.ts), and remembers
 * the ports it got. With `announce` set the addresses it gives out are
 * those, and the listening ports are not read back: give those a fixed port.
 */
async function startListening (options: NodeOptions, state: StateStore, logger: Logger): Promise<Node> {
  const stores = { entries: async (hash: string) => await state.entryBytes(hash).catch(() => undefined) }
  const nodeLogger = namespaced(logger, 'protocol:node')
  const remembered = options.announce.length > 0 ? {} : await state.listenPorts()
  const listen = await withRememberedPorts(options.listen, remembered, nodeLogger)
  let node: Node
  try {
    node = await startNode({ ...options, listen }, stores, nodeLogger)
  } catch (err) {
    // Taken between the check and the start: on new ports, rather than not at all.
    if (listen.every((address, i) => address === options.listen[i])) throw err
    nodeLogger.warn({ err }, 'could not listen on the ports used before: listening on new ones')
    node = await startNode(options, stores, nodeLogger)
  }
  if (options.announce.length === 0) {
    const ports = chosenPorts(options.listen, node.libp2p.getMultiaddrs())
    if (JSON.stringify(ports) !== JSON.stringify(remembered)) await state.putListenPorts(ports)
  }
  return node
}
