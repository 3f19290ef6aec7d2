/**
 * Heads exchanges on the sync alone: real libp2p nodes on 127.0.0.1, each
 * with a group log of one signing key.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { generateSigningKeyPair, type SigningKeyPair } from '../src/protocol/crypto.ts'
import { GroupLog } from '../src/protocol/group-log.ts'
import { withPeerStack, type PeerStack } from '../src/protocol/peer-stack.ts'
import { LogCapture } from './helpers/log-capture.ts'
import { tempDir } from './helpers/temp.ts'
import { pollUntil } from './helpers/wait.ts'

interface Node {
  stack: PeerStack
  log: GroupLog
  id: string
  capture: LogCapture
  /** Peer id → how many heads exchanges (started by either side) this node had with it. */
  exchanges: Map<string, number>
  stop: () => Promise<void>
}

const started: Node[] = []
afterAll(async () => { await Promise.all(started.map(async (node) => { await node.stop() })) })

async function startNode (signing: SigningKeyPair): Promise<Node> {
  const capture = new LogCapture('debug')
  const node = await withPeerStack({
    dataDir: await tempDir('heads'), listen: ['/ip4/127.0.0.1/tcp/0'], announce: [], bootstrap: [], relay: { client: false, server: false }, mdns: false, dht: 'off'
  }, capture.logger, async (stack) => {
    const log = await GroupLog.open(stack.logs, 'heads-test', signing)
    const exchanges = new Map<string, number>()
    stack.sync.on('peer', (_address: string, peer: string) => { exchanges.set(peer, (exchanges.get(peer) ?? 0) + 1) })
    stack.sync.register(log)
    let stopped = false
    return {
      stack,
      log,
      id: stack.node.libp2p.peerId.toString(),
      capture,
      exchanges,
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
  started.push(node)
  return node
}

describe('heads exchanges', () => {
  it('swap heads once when two peers see each other subscribe, started by the one with the lower id', async () => {
    const signing = generateSigningKeyPair()
    // Logs that do not change: no settle rounds (`settle-rounds.ts`) add exchanges of their own.
    const [a, b] = [await startNode(signing), await startNode(signing)]
    const [lower, higher] = a.id < b.id ? [a, b] : [b, a]

    await a.stack.node.libp2p.dial(b.stack.node.libp2p.getMultiaddrs()[0]!)
    await pollUntil('the two to swap heads', () => a.exchanges.has(b.id) && b.exchanges.has(a.id))
    // The higher id held its exchange back, and found it answered meanwhile.
    const heldBack = await higher.capture.waitForLine('the held-back exchange to be found answered', (line) => line.msg.startsWith('held-back heads exchange') && line.peer === lower.id)
    expect(heldBack).toMatchObject({ logs: 1, answered: 1 })
    expect(lower.capture.find((line) => line.msg.startsWith('held-back heads exchange'))).toEqual([])
    expect(a.exchanges.get(b.id)).toBe(1)
    expect(b.exchanges.get(a.id)).toBe(1)
  })
})
