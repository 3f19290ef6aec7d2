/**
 * Files (`BENCH_ONLY=files`): a file of each of BENCH_FILE_SIZES MiB (1 and
 * 10) sent to a group, and read by a member, fetched from the sender; and
 * read by a member back from offline, fetched from a replica alone (the
 * sender gone). MB/s of the read (fetch, check, decrypt), next to Helia's
 * plain block transfer of the same bytes: two plain Helia nodes with bitswap
 * on 127.0.0.1, the bytes added unencrypted with the same UnixFS chunking and
 * read whole by the other. Medians of BENCH_ROUNDS rounds, each on fresh peers.
 */
import { randomBytes } from 'node:crypto'
import { unixfs } from '@helia/unixfs'
import { multiaddr } from '@multiformats/multiaddr'
import { createLogger, createPeer, createReplica, type Group, type MessageEvent, type Peer, type ReceivedFile } from 'bertybot/protocol'
import { startPlainOrbitDB } from '../test/helpers/plain-orbitdb.ts'
import { envNumber, envSizes, median, removeDirs, tempDir, type Section } from './shared.ts'

const SIZES = envSizes('BENCH_FILE_SIZES', [1, 10])
const ROUNDS = envNumber('BENCH_ROUNDS', 3)
const MiB = 1024 * 1024
const logger = createLogger({ level: 'warn' })

interface Round { plain: number, sender: number, replica: number, store: number }

/** MB/s (10^6 bytes a second) of `bytes` read in `ms`. */
const rate = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000)

async function drain (source: AsyncIterable<Uint8Array>): Promise<number> {
  let size = 0
  for await (const chunk of source) size += chunk.length
  return size
}

/** Reads `file` whole, checking its size; resolves with the time it took, in ms. */
async function timedRead (file: ReceivedFile): Promise<number> {
  const start = performance.now()
  const size = await drain(file.read({ signal: AbortSignal.timeout(300_000) }))
  if (size !== file.size) throw new Error(`read ${size} bytes of ${file.size}`)
  return performance.now() - start
}

/** Helia's plain transfer: one node adds the bytes, the other, dialled to it, reads them whole over bitswap. */
async function plainTransfer (bytes: Uint8Array): Promise<number> {
  const dirs = [await tempDir(), await tempDir()]
  const [a, b] = [await startPlainOrbitDB(dirs[0] as string), await startPlainOrbitDB(dirs[1] as string)]
  try {
    await b.libp2p.dial(multiaddr(a.libp2p.getMultiaddrs()[0] as never))
    const cid = await unixfs(a.helia).addBytes(bytes)
    const start = performance.now()
    const size = await drain(unixfs(b.helia).cat(cid, { signal: AbortSignal.timeout(300_000) }))
    if (size !== bytes.length) throw new Error(`plain read ${size} bytes of ${bytes.length}`)
    return performance.now() - start
  } finally {
    await a.stop()
    await b.stop()
    await removeDirs(dirs)
  }
}

/** The message `id` once `peer` has it (set up before it can arrive). */
function arrival (peer: Peer): (id: string) => Promise<MessageEvent> {
  const seen = new Map<string, MessageEvent>()
  const waiting = new Map<string, (m: MessageEvent) => void>()
  peer.on('message', (m) => {
    const wake = waiting.get(m.id)
    if (wake === undefined) seen.set(m.id, m)
    else wake(m)
  })
  return async (id) => seen.get(id) ?? await new Promise((resolve) => { waiting.set(id, resolve) })
}

/** Alice sends the file to bob (sender to member), then again while bob is away, kept by a replica (replica to member). */
async function ours (bytes: Uint8Array): Promise<Omit<Round, 'plain'>> {
  const dirs = [await tempDir(), await tempDir(), await tempDir()]
  const replica = await createReplica({ dataDir: dirs[2] as string, logger })
  const alice = await createPeer({ dataDir: dirs[0] as string, logger })
  let bob = await createPeer({ dataDir: dirs[1] as string, logger })
  try {
    const joined = new Promise<void>((resolve) => { alice.once('memberJoined', () => { resolve() }) })
    const group: Group = await alice.createGroup({ name: 'bench files' })
    await bob.joinGroup(group.invitation())
    await joined

    const toBob = arrival(bob)
    const storeStart = performance.now()
    const first = await group.sendFile(bytes, { name: 'bench.bin', type: 'application/octet-stream' })
    const store = performance.now() - storeStart
    const sender = await timedRead((await toBob(first)).files[0] as ReceivedFile)

    // Then a replica (added only now, so that its fetch did not compete with bob's). Bob goes away; the
    // file is sent again (a new key, new blocks) and kept by the replica, as the first is; alice goes too.
    const kept = new Promise<void>((resolve) => {
      let files = 0
      replica.on('file', () => { if (++files === 2) resolve() })
    })
    await group.addReplica(replica.link())
    await bob.stop()
    const second = await group.sendFile(bytes, { name: 'bench.bin', type: 'application/octet-stream' })
    await kept
    await alice.stop()
    bob = await createPeer({ dataDir: dirs[1] as string, logger })
    const message = await arrival(bob)(second)
    const replicaMs = await timedRead(message.files[0] as ReceivedFile)
    return { store: rate(bytes.length, store), sender: rate(bytes.length, sender), replica: rate(bytes.length, replicaMs) }
  } finally {
    await alice.stop()
    await bob.stop()
    await replica.stop()
    await removeDirs(dirs)
  }
}

export async function files (): Promise<Section> {
  const json: Record<string, unknown> = { rounds: ROUNDS }
  const lines = [
    `a file read whole by a member: fetched from the sender, and from a replica alone (sender gone); MB/s, medians of ${ROUNDS} rounds`,
    `${''.padEnd(12)}${'plain Helia'.padStart(13)}${'sender'.padStart(10)}${'ratio'.padStart(8)}${'replica'.padStart(10)}${'ratio'.padStart(8)}${'store'.padStart(10)}`
  ]
  for (const mib of SIZES) {
    const bytes = randomBytes(mib * MiB)
    const rounds: Round[] = []
    for (let round = 1; round <= ROUNDS; round++) {
      process.stderr.write(`files: ${mib} MiB, round ${round} of ${ROUNDS}: plain Helia...\n`)
      const plain = rate(bytes.length, await plainTransfer(bytes))
      process.stderr.write(`files: ${mib} MiB, round ${round} of ${ROUNDS}: bertybot, sender then replica...\n`)
      rounds.push({ plain, ...await ours(bytes) })
    }
    const m = (key: keyof Round): number => median(rounds.map((r) => r[key]))
    const figures = { plain: m('plain'), sender: m('sender'), replica: m('replica'), store: m('store') }
    json[`${mib}MiB`] = { ...figures, senderRatio: figures.sender / figures.plain, replicaRatio: figures.replica / figures.plain }
    lines.push(`${`${mib} MiB`.padEnd(12)}${figures.plain.toFixed(1).padStart(13)}${figures.sender.toFixed(1).padStart(10)}${((figures.sender / figures.plain).toFixed(2) + 'x').padStart(8)}${figures.replica.toFixed(1).padStart(10)}${((figures.replica / figures.plain).toFixed(2) + 'x').padStart(8)}${figures.store.toFixed(1).padStart(10)}`)
  }
  lines.push('ratio: bertybot / plain Helia; store: encrypting and chunking into the sender\'s blockstore, for the first send')
  return { json, lines }
}
