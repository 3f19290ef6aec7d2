/**
 * A node for tests of the sync alone: a real libp2p node on 127.0.0.1 (the
 * peer's stack, no peer above it) with one group log registered, of a signing
 * key (a member) or of its public half only (a keyless peer, as a replica).
 */
import type { SigningKeyPair } from '../../src/protocol/crypto.ts'
import { GroupLog } from '../../src/protocol/group-log.ts'
import type { Logger } from '../../src/protocol/logger.ts'
import { withPeerStack, type PeerStack } from '../../src/protocol/peer-stack.ts'
import { testLogger } from './peers.ts'
import { tempDir } from './temp.ts'

export interface SyncNode {
  stack: PeerStack
  log: GroupLog
  /** The node's peer id. */
  id: string
  stop: () => Promise<void>
}

/** Starts a node; `beforeRegister` runs before its log is registered (to hear what the first exchanges bring). */
export async function startSyncNode (signing: SigningKeyPair | { publicKey: Uint8Array }, options: { logger?: Logger, beforeRegister?: (stack: PeerStack, log: GroupLog) => void } = {}): Promise<SyncNode> {
  return await withPeerStack({
    dataDir: await tempDir('sync'), listen: ['/ip4/127.0.0.1/tcp/0'], announce: [], bootstrap: [], relay: { client: false, server: false }, mdns: false, dht: 'off'
  }, options.logger ?? testLogger, async (stack) => {
    const log = await GroupLog.open(stack.logs, 'sync-test', signing)
    options.beforeRegister?.(stack, log)
    stack.sync.register(log)
    let stopped = false
    return {
      stack,
      log,
      id: stack.node.libp2p.peerId.toString(),
      stop: async () => {
        if (stopped) return
        stopped = true
        stack.sync.unregister(log.address)
        await log.close()
        await stack.sync.stop()
        await stack.node.stop()
        await stack.state.close()
      }
    }
  })
}
