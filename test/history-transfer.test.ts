/**
 * Fetching history (`history-transfer.ts`) between real libp2p nodes on
 * 127.0.0.1, each with a group log of one signing key.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, describe, expect, it } from 'vitest'
import { generateSigningKeyPair } from '../src/protocol/crypto.ts'
import { HistoryTransfer } from '../src/protocol/history-transfer.ts'
import { createEntry, groupPayload } from '../src/protocol/log-entry.ts'
import { StockSync } from '../src/protocol/stock-sync.ts'
import type { SyncDeps } from '../src/protocol/sync-deps.ts'
import { LogCapture } from './helpers/log-capture.ts'
import { startSyncNode, type SyncNode } from './helpers/sync-node.ts'
import { pollUntil } from './helpers/wait.ts'

const started: SyncNode[] = []
const stopping = new AbortController()
afterAll(async () => {
  stopping.abort()
  await Promise.all(started.map(async (node) => { await node.stop() }))
})

describe('a history fetch', () => {
  it('does not ask a peer for the heads it named once they came by another path', async () => {
    const signing = generateSigningKeyPair()
    const [a, b] = [await startSyncNode(signing), await startSyncNode(signing)]
    started.push(a, b)
    const libp2p = a.stack.node.libp2p
    await libp2p.dial(b.stack.node.libp2p.getMultiaddrs()[0]!)
    await pollUntil('a to see b on the log\'s topic', () => libp2p.services.pubsub.getSubscribers(a.log.address).some((peer) => peer.toString() === b.id))

    // A transfer of its own on a's node, whose log lines are this test's alone.
    const capture = new LogCapture('debug')
    const deps: SyncDeps = { libp2p, logger: capture.logger, log: (address) => address === a.log.address ? a.log : undefined, running: () => !stopping.signal.aborted, stopping: stopping.signal }
    const stock = new StockSync({ ...deps, fetchBlock: async () => { throw new Error('no stock peers here') }, receive: async () => {} })
    const transfer = new HistoryTransfer({ ...deps, stock })
    // Entries nobody holds: what a's log lacks, and a head b named that reached a meanwhile.
    const lacking = await createEntry(signing, { id: a.log.address, payload: groupPayload(new Uint8Array([1])), next: [], refs: [], time: 1 })
    const cameMeanwhile = await createEntry(signing, { id: a.log.address, payload: groupPayload(new Uint8Array([2])), next: [], refs: [], time: 1 })
    const fetchedFromB = (): unknown[] => capture.find((line) => line.msg === 'fetched history' && line.peer === b.id)

    expect(await a.log.want([lacking.hash])).toBe(1)
    await transfer.fetchMissing(a.log, [peerIdFromString(b.id)], [cameMeanwhile.hash])
    // The fetch gave up on what nobody gave (it comes again with the next exchange): wanted once more, now from b.
    expect(await a.log.want([lacking.hash])).toBe(1)
    await transfer.fetchMissing(a.log, [peerIdFromString(b.id)], [lacking.hash])
    await capture.waitForLine('a to ask b for the head it named', (line) => line.msg === 'fetched history' && line.peer === b.id)
    // Lines come in order: had the first fetch asked b, its line would be there too.
    expect(fetchedFromB()).toHaveLength(1)
  })
})
