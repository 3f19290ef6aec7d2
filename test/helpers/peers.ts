import { afterAll } from 'vitest'
import { createPeer, type Group, type MemberJoinedEvent, type Peer, type PeerOptions } from '../../src/protocol/index.ts'
import { createLogger } from '../../src/protocol/logger.ts'
import { LogCapture } from './log-capture.ts'
import { tempDir } from './temp.ts'
import { Inbox } from './wait.ts'

const running = new Set<Peer>()

/** Logs of test peers: warnings and errors on stderr unless BERTYBOT_TEST_LOG names another level. */
export const testLogger = createLogger({ level: (process.env.BERTYBOT_TEST_LOG as 'warn' | undefined) ?? 'warn' })

export interface TestPeer {
  peer: Peer
  dataDir: string
  log: LogCapture
}

/** A real peer on 127.0.0.1 with a temp data directory; stopped when the test file ends if the test did not. */
export async function startPeer (options: Partial<PeerOptions> & { logLevel?: 'warn' | 'debug' } = {}): Promise<TestPeer> {
  const { logLevel, ...peerOptions } = options
  const dataDir = peerOptions.dataDir ?? await tempDir()
  const log = new LogCapture(logLevel ?? 'warn')
  const peer = await createPeer({ logger: log.logger, ...peerOptions, dataDir })
  running.add(peer)
  const stop = peer.stop.bind(peer)
  peer.stop = async () => {
    running.delete(peer)
    await stop()
  }
  return { peer, dataDir, log }
}

export async function startPeers (names: string[], options: Partial<PeerOptions> = {}): Promise<TestPeer[]> {
  return await Promise.all(names.map(async (displayName) => await startPeer({ ...options, displayName })))
}

/**
 * The first peer creates a group, the others join it by invitation; resolves
 * once every member has seen every other one join, so anything sent from
 * then on is readable by all.
 */
export async function formGroup (peers: Peer[], name = 'test group'): Promise<Group[]> {
  const [creator, ...others] = peers
  if (creator === undefined) throw new Error('formGroup needs peers')
  const joined = peers.map((peer) => new Inbox<MemberJoinedEvent>(peer, 'memberJoined'))
  const first = await creator.createGroup({ name })
  const invitation = first.invitation()
  const rest = await Promise.all(others.map(async (peer) => await peer.joinGroup(invitation)))
  const groups = [first, ...rest]
  await Promise.all(peers.map(async (peer, i) => {
    const expected = new Set(peers.filter((p) => p !== peer).map((p) => p.accountId))
    await (joined[i] as Inbox<MemberJoinedEvent>).until(`${peer.accountId} to see every member join`, (items) => {
      const seen = new Set(items.filter((e) => e.group.id === first.id).map((e) => e.member.account))
      return [...expected].every((account) => seen.has(account))
    })
  }))
  return groups
}

afterAll(async () => {
  await Promise.all([...running].map(async (peer) => { await peer.stop() }))
})
