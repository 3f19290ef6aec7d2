/**
 * What hiding the writer from outsiders costs, for `npm run bench`
 * (BENCH_ONLY=unlinkable):
 *
 * - Bytes: app messages of several sizes sealed as this build seals them
 *   (padded to a size among 512 B, powers of two, steps of 64 KiB) next to
 *   the same sealed unpadded, as earlier builds did; the value and the whole
 *   entry (with a parent and the refs a log a hundred entries long gives).
 *   And what sealing the links with the link key would add to an entry,
 *   which this build does not do (README: "What an outsider sees").
 * - Latency: three members' sync on loopback, in one process; one writes,
 *   another's log has the entry: published by the writer itself (the
 *   direct case), through the third (the relay path), and drawn at random
 *   as the peer does (one in three direct here), each BENCH_SAMPLES times,
 *   in turn.
 */
import type { PeerId } from '@libp2p/interface'
import { encodeAppMessage } from '../src/protocol/app-messages.ts'
import { generateSigningKeyPair, randomBytes, sealSecretbox, sign, signingKeyPairFromSeed, uint64BE, concatBytes, utf8ToBytes, type SigningKeyPair } from '../src/protocol/crypto.ts'
import { encodeCbor } from '../src/protocol/encoding.ts'
import { sealMessage } from '../src/protocol/envelope.ts'
import { GroupLog } from '../src/protocol/group-log.ts'
import { createEntry, groupPayload } from '../src/protocol/log-entry.ts'
import { createLogger } from '../src/protocol/logger.ts'
import { withPeerStack, type PeerStack } from '../src/protocol/peer-stack.ts'
import { envNumber, median, percentile, removeDirs, tempDir, TEXT, type Section } from './shared.ts'

const SAMPLES = envNumber('BENCH_SAMPLES', 50)
const WARMUP = envNumber('BENCH_WARMUP', 5)
const ROUNDS = envNumber('BENCH_ROUNDS', 3)

const MESSAGES: Array<{ label: string, message: Parameters<typeof encodeAppMessage>[0] }> = [
  { label: 'reaction', message: { type: 2, target: 'zdpuAqyLBTStPNCfLiLbj2ZAop52pYcowBaa3t4PhtpNF3yNN', emoji: '👍', sentAt: Date.now() } },
  { label: 'text, 10 characters', message: { type: 1, text: 'hello you!', sentAt: Date.now() } },
  { label: 'text, 100 characters', message: { type: 1, text: TEXT, sentAt: Date.now() } },
  { label: 'text, 280 characters', message: { type: 1, text: 'x'.repeat(280), sentAt: Date.now() } },
  { label: 'text, 600 characters', message: { type: 1, text: 'x'.repeat(600), sentAt: Date.now() } },
  { label: 'text, 2000 characters', message: { type: 1, text: 'x'.repeat(2000), sentAt: Date.now() } }
]

/** A message as earlier builds sealed it: headers and body side by side, unpadded. */
function sealUnpadded (secret: Uint8Array, groupKey: Uint8Array, device: SigningKeyPair, counter: number, messageKey: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const signature = sign(device, concatBytes(utf8ToBytes('bertybot/message/v1'), groupKey, uint64BE(counter), plaintext))
  const n = randomBytes(24)
  const h = sealSecretbox(secret, n, encodeCbor({ c: counter, d: device.publicKey, s: signature }))
  const b = sealSecretbox(messageKey, concatBytes(uint64BE(counter), new Uint8Array(16)), plaintext)
  return encodeCbor({ h, n, b })
}

interface Sizes { label: string, unpadded: { value: number, entry: number }, padded: { value: number, entry: number }, sealedLinks: number }

async function sizes (): Promise<Sizes[]> {
  const secret = randomBytes(32)
  const signing = signingKeyPairFromSeed(secret)
  const groupKey = generateSigningKeyPair().publicKey
  const device = generateSigningKeyPair()
  const hash = (): string => 'zdpu' + Buffer.from(randomBytes(35)).toString('base64url').slice(0, 45)
  // An entry deep in a log: one parent, six refs, a clock past a hundred.
  const links = { next: [hash()], refs: Array.from({ length: 6 }, hash), time: 120 }
  const entryOf = async (value: Uint8Array, sealLinks = false): Promise<number> => {
    if (!sealLinks) return (await createEntry(signing, { id: '/orbitdb/zdpuAuvJbAzVgm3uDt6kV2oJBLm1EsAkCFEmjNuD3JRNgzqTL', payload: groupPayload(value), ...links })).bytes.length
    // Sealed as Wesh seals them: out of the entry's fields, into a box under the link key beside the value.
    const n = randomBytes(24)
    const box = sealSecretbox(randomBytes(32), n, encodeCbor({ next: links.next, refs: links.refs }))
    return (await createEntry(signing, { id: '/orbitdb/zdpuAuvJbAzVgm3uDt6kV2oJBLm1EsAkCFEmjNuD3JRNgzqTL', payload: { ...groupPayload(value), links: encodeCbor({ n, box }) }, next: [], refs: [], time: links.time })).bytes.length
  }
  const out: Sizes[] = []
  for (const { label, message } of MESSAGES) {
    const plaintext = encodeAppMessage(message)
    const unpadded = sealUnpadded(secret, groupKey, device, 7, randomBytes(32), plaintext)
    const padded = sealMessage(secret, groupKey, device, 7, randomBytes(32), plaintext)
    out.push({
      label,
      unpadded: { value: unpadded.length, entry: await entryOf(unpadded) },
      padded: { value: padded.length, entry: await entryOf(padded) },
      sealedLinks: await entryOf(padded, true) - await entryOf(padded)
    })
  }
  return out
}

interface Member { stack: PeerStack, log: GroupLog, stop: () => Promise<void> }

async function member (dir: string, signing: SigningKeyPair): Promise<Member> {
  const logger = createLogger({ level: 'warn' })
  return await withPeerStack({ dataDir: dir, listen: ['/ip4/127.0.0.1/tcp/0'], announce: [], bootstrap: [], relay: { client: false, server: false }, mdns: false, dht: 'off' }, logger, async (stack) => {
    const log = await GroupLog.open(stack.logs, 'bench-relay', signing)
    stack.sync.register(log)
    return {
      stack,
      log,
      stop: async () => {
        stack.sync.unregister(log.address)
        await log.close()
        await stack.sync.stop()
        await stack.node.stop()
        await stack.state.close()
      }
    }
  })
}

type Path = 'direct' | 'relay' | 'drawn'
const PATHS: Path[] = ['direct', 'relay', 'drawn']

/** One round on fresh members: latencies in ms, ascending, by path. */
async function latencies (): Promise<Record<Path, number[]>> {
  const dirs = [await tempDir(), await tempDir(), await tempDir()]
  const signing = generateSigningKeyPair()
  const members: Member[] = []
  try {
    for (const dir of dirs) members.push(await member(dir, signing))
    const [writer, relay, reader] = members as [Member, Member, Member]
    for (const [a, b] of [[writer, relay], [writer, reader], [relay, reader]] as const) await a.stack.node.libp2p.dial(b.stack.node.libp2p.getMultiaddrs()[0]!)
    const relayId = relay.stack.node.libp2p.peerId
    const known = (): boolean => writer.stack.sync.relays(writer.log.address).length === 2
    for (const start = performance.now(); !known(); await new Promise((resolve) => setTimeout(resolve, 20))) {
      if (performance.now() - start > 30_000) throw new Error('the members did not prove themselves to each other within 30 s')
    }
    const waiting = new Map<string, () => void>()
    reader.log.on('update', (entries) => { for (const entry of entries) waiting.get(entry.hash)?.() })
    // A value of the smallest padded size, as most messages are.
    const value = new Uint8Array(512)
    const once = async (through: 'self' | PeerId | undefined): Promise<number> => {
      const start = performance.now()
      const [entry] = await writer.log.append([value])
      const arrived = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error('an entry did not arrive within 30 s')) }, 30_000)
        waiting.set(entry!.hash, () => { clearTimeout(timer); resolve() })
      })
      await writer.stack.sync.publish(writer.log.address, [entry!], through)
      await arrived
      waiting.delete(entry!.hash)
      return performance.now() - start
    }
    const through: Record<Path, 'self' | PeerId | undefined> = { direct: 'self', relay: relayId, drawn: undefined }
    for (let i = 0; i < WARMUP; i++) for (const path of PATHS) await once(through[path])
    const out: Record<Path, number[]> = { direct: [], relay: [], drawn: [] }
    for (let i = 0; i < SAMPLES; i++) for (const path of PATHS) out[path].push(await once(through[path]))
    for (const path of PATHS) out[path].sort((a, b) => a - b)
    return out
  } finally {
    for (const m of members) await m.stop().catch(() => {})
    await removeDirs(dirs)
  }
}

export async function unlinkable (): Promise<Section> {
  const table = await sizes()
  const rounds: Array<Record<Path, { p50: number, p95: number }>> = []
  for (let round = 1; round <= ROUNDS; round++) {
    process.stderr.write(`unlinkable: relay latency, round ${round} of ${ROUNDS}\n`)
    const measured = await latencies()
    rounds.push(Object.fromEntries(PATHS.map((path) => [path, { p50: percentile(measured[path], 0.5), p95: percentile(measured[path], 0.95) }])) as Record<Path, { p50: number, p95: number }>)
  }
  const latency = Object.fromEntries(PATHS.map((path) => [path, {
    p50: median(rounds.map((r) => r[path].p50)),
    p95: median(rounds.map((r) => r[path].p95))
  }])) as Record<Path, { p50: number, p95: number }>
  const bytesRow = (s: Sizes): string => `${s.label.padEnd(24)}${String(s.unpadded.value).padStart(9)}${String(s.padded.value).padStart(9)}${String(s.unpadded.entry).padStart(10)}${String(s.padded.entry).padStart(10)}${(`+${s.padded.entry - s.unpadded.entry}`).padStart(9)}${((s.padded.entry / s.unpadded.entry).toFixed(2) + 'x').padStart(8)}${(`+${s.sealedLinks}`).padStart(8)}`
  const latencyRow = (label: string, f: { p50: number, p95: number }): string => `${label.padEnd(44)}${f.p50.toFixed(1).padStart(9)}${f.p95.toFixed(1).padStart(9)}`
  return {
    json: { sizes: table, latency, samples: SAMPLES },
    lines: [
      'bytes of a message: its sealed value and its whole entry (one parent, six refs), unpadded as earlier builds sealed it and padded;',
      'and what sealing the entry\'s links under the link key would add (not done: README)',
      `${''.padEnd(24)}${'value'.padStart(9)}${'padded'.padStart(9)}${'entry'.padStart(10)}${'padded'.padStart(10)}${'cost'.padStart(9)}${'ratio'.padStart(8)}${'links'.padStart(8)}`,
      ...table.map(bytesRow),
      '',
      `one way, three members' sync on loopback (one process), a 512-byte value, ${SAMPLES} of each in turn; medians of ${ROUNDS} rounds`,
      `${''.padEnd(44)}${'p50 ms'.padStart(9)}${'p95 ms'.padStart(9)}`,
      latencyRow('published by the writer (direct)', latency.direct),
      latencyRow('published by another member (relay path)', latency.relay),
      latencyRow('drawn at random, as peers do (1 in 3 direct)', latency.drawn),
      `${'relay path / direct'.padEnd(44)}${((latency.relay.p50 / latency.direct.p50).toFixed(2) + 'x').padStart(9)}${((latency.relay.p95 / latency.direct.p95).toFixed(2) + 'x').padStart(9)}`
    ]
  }
}
