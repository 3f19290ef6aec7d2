/**
 * Heads exchanges on the sync alone: real libp2p nodes on 127.0.0.1, each
 * with a group log of one signing key.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { generateSigningKeyPair, type SigningKeyPair } from '../src/protocol/crypto.ts'
import { LogCapture } from './helpers/log-capture.ts'
import { startSyncNode, type SyncNode } from './helpers/sync-node.ts'
import { pollUntil } from './helpers/wait.ts'

interface Node extends SyncNode {
  capture: LogCapture
  /** Peer id → how many heads exchanges (started by either side) this node had with it. */
  exchanges: Map<string, number>
}

const started: Node[] = []
afterAll(async () => { await Promise.all(started.map(async (node) => { await node.stop() })) })

async function startNode (signing: SigningKeyPair): Promise<Node> {
  const capture = new LogCapture('debug')
  const exchanges = new Map<string, number>()
  const node = {
    ...await startSyncNode(signing, {
      logger: capture.logger,
      beforeRegister: (stack) => { stack.sync.on('peer', (_address: string, peer: string) => { exchanges.set(peer, (exchanges.get(peer) ?? 0) + 1) }) }
    }),
    capture,
    exchanges
  }
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

  it('are started at once by the higher id when it waits on its first sync (a newcomer), not held back', async () => {
    const signing = generateSigningKeyPair()
    const [a, b] = [await startNode(signing), await startNode(signing)]
    const [lower, higher] = a.id < b.id ? [a, b] : [b, a]
    // The lower id leaves the topic, so that it arrives there while the higher one waits.
    lower.stack.sync.unregister(lower.log.address)
    await higher.stack.node.libp2p.dial(lower.stack.node.libp2p.getMultiaddrs()[0]!)
    // Its subscription then goes out on its gossip stream ahead of the exchange it starts on joining the
    // topic, so the higher id hears of it while still waiting (the stream opens once the connection is up).
    await pollUntil('the lower id\'s gossip stream to the higher', () => lower.stack.node.libp2p.getConnections(higher.stack.node.libp2p.peerId)
      .some((connection) => connection.streams.some((stream) => stream.direction === 'outbound' && stream.protocol?.startsWith('/meshsub/') === true)))
    const synced = higher.stack.sync.whenSynced(higher.log.address, 30_000)
    lower.stack.sync.register(lower.log)

    expect(await synced).toBe(true)
    // Its own exchange: only the side that starts one logs 'swapped heads'.
    await higher.capture.waitForLine('the waiting side to start its own exchange', (line) => line.msg === 'swapped heads' && line.peer === lower.id)
  })
})
