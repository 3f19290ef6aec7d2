/**
 * Memory, for `npm run bench` (BENCH_ONLY=memory): the echo bot, in a process
 * of its own, joins conversations until it is in each size of
 * BENCH_MEMORY_SIZES, and at each its resident memory is measured idle (after
 * SETTLE_MS and a garbage collection, as idle-process.ts does).
 *
 * The conversations are groups that BENCH_MEMORY_USERS users (over
 * BENCH_PROCESSES processes) create; the bot joins each with
 * `bot.peer.joinGroup(invitation)`, the invitation handed over IPC. A join is
 * timed from that call until the user who created the group sees the bot's
 * `memberJoined`. The first SAMPLE joins and the last SAMPLE (up to the
 * largest size) are made one at a time and compared; the ones between go
 * one per user at a time.
 *
 * Baseline: a plain @orbitdb/core peer in as many conversations, each two
 * events logs (as each bertybot group has a metadata and a message log) that a
 * user creates and the peer opens by address; its join ends when the user
 * sees the entry the peer then adds to the first log.
 */
import { Cluster, type WorkerProcess } from './cluster.ts'
import { envNumber, envSizes, median, now, removeDirs, showSpread, spread, tempDir, verdict, type Section, type Spread } from './shared.ts'

const SIZES = envSizes('BENCH_MEMORY_SIZES', [10, 100, 1000]).sort((a, b) => a - b)
const USERS = envNumber('BENCH_MEMORY_USERS', 10)
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT', 300) * 1000
const PROCESSES = envNumber('BENCH_PROCESSES', 4)
const ROUNDS = envNumber('BENCH_ROUNDS', 3)
/** As idle-process.ts: start-up work (syncs, dials) is over by then. */
const SETTLE_MS = 10_000
/** How many joins, one at a time, at the start and at the end. */
const SAMPLE = 5
const TARGET_SIZE = 1000
const TARGET_MIB = 600
/** "As quickly as the first": the last joins' median at most this times the first ones'. */
const TARGET_JOIN_RATIO = 1.2

type Side = 'plain' | 'bertybot'
const MEMBER = 0

interface Round {
  baseMiB?: number
  /** Resident memory, MiB, by number of conversations. */
  rssMiB: Map<number, number>
  /** The JS heap in use, MiB, by number of conversations: what the RSS holds beyond it is native memory, or pages not handed back yet. */
  heapMiB: Map<number, number>
  firstJoinMs?: number
  lastJoinMs?: number
  joined: number
  failure?: string
}

function log (line: string): void {
  process.stderr.write(`memory: ${line}\n`)
}

/** The measured peer (the bot, or the plain peer) in its own process, and the users who make conversations. */
class MemoryRig {
  readonly #side: Side
  readonly #cluster: Cluster
  readonly #member: WorkerProcess
  readonly #joined = new Map<string, number>()
  #account = ''

  private constructor (side: Side, cluster: Cluster, member: WorkerProcess) {
    this.#side = side
    this.#cluster = cluster
    this.#member = member
    cluster.on((e) => {
      if (e.name === 'memberJoined' && e.account === this.#account) this.#joined.set(e.group, e.at)
      if (e.name === 'update' && e.value === 'joined') this.#joined.set(e.log, e.at)
    })
  }

  static async start (side: Side, dirs: string[]): Promise<MemoryRig> {
    const cluster = await Cluster.fork(Math.min(PROCESSES, USERS))
    try {
      const member = await cluster.add('measured process')
      const rig = new MemoryRig(side, cluster, member)
      const started = await cluster.start(MEMBER, side === 'bertybot' ? 'echo' : 'plain', dirs[MEMBER] as string, { on: member, displayName: 'echo' })
      rig.#account = started.accountId ?? ''
      const users = await Promise.all(Array.from({ length: USERS }, async (_, i) => await cluster.start(i + 1, side, dirs[i + 1] as string, { displayName: `user ${i + 1}` })))
      // A stock peer finds nobody by itself: it dials each user once.
      if (side === 'plain') for (const user of users) await cluster.connect(MEMBER, user.multiaddrs[0] as string, TIMEOUT_MS)
      return rig
    } catch (err) {
      await cluster.exit()
      throw err
    }
  }

  /** Conversation `k`: a user makes it, the measured peer joins; resolves with the join's time, ms. */
  async join (k: number): Promise<number> {
    const user = 1 + k % USERS
    let key: string
    let calledAt: number
    if (this.#side === 'bertybot') {
      const { group, invitation } = await this.#cluster.call('createGroup', { peer: user, name: `conversation ${k}` })
      key = group
      calledAt = now()
      await this.#cluster.call('joinGroup', { peer: MEMBER, invitation })
    } else {
      const metadata = await this.#cluster.call('openLog', { peer: user, name: `conversation-${k}-metadata-${Date.now()}`, anyoneWrites: true, watch: true })
      const messages = await this.#cluster.call('openLog', { peer: user, name: `conversation-${k}-messages-${Date.now()}`, watch: false })
      key = metadata.address
      calledAt = now()
      // As in echo-rig.ts: a manifest not served in time is asked for again.
      await this.#cluster.retrying(async () => await this.#cluster.call('openLog', { peer: MEMBER, address: metadata.address, watch: false }), TIMEOUT_MS)
      await this.#cluster.retrying(async () => await this.#cluster.call('openLog', { peer: MEMBER, address: messages.address, watch: false }), TIMEOUT_MS)
      await this.#cluster.call('add', { peer: MEMBER, log: metadata.address, value: 'joined' })
    }
    if (!await this.#cluster.until(() => this.#joined.has(key), TIMEOUT_MS)) throw new Error(`conversation ${k}: its user did not see the join within ${TIMEOUT_MS / 1000} s`)
    return (this.#joined.get(key) as number) - calledAt
  }

  /** The measured process's resident memory and JS heap in use, MiB. */
  async memoryMiB (): Promise<{ rss: number, heap: number }> {
    const { rss, heapUsed } = await this.#cluster.memory(SETTLE_MS, [this.#member])
    return { rss: rss / 2 ** 20, heap: heapUsed / 2 ** 20 }
  }

  async exit (): Promise<string[]> {
    return await this.#cluster.exit()
  }
}

async function measure (side: Side): Promise<Round> {
  const round: Round = { rssMiB: new Map(), heapMiB: new Map(), joined: 0 }
  const largest = SIZES[SIZES.length - 1] as number
  const sample = Math.min(SAMPLE, Math.floor(largest / 2))
  const dirs = await Promise.all(Array.from({ length: USERS + 1 }, async () => await tempDir()))
  let rig: MemoryRig | undefined
  try {
    rig = await MemoryRig.start(side, dirs)
    round.baseMiB = (await rig.memoryMiB()).rss
    log(`${side}: ${round.baseMiB.toFixed(0)} MiB in no conversation`)
    const first: number[] = []
    const last: number[] = []
    let next = 0
    const joinOne = async (): Promise<number> => { const ms = await (rig as MemoryRig).join(next++); round.joined++; return ms }
    for (const size of SIZES) {
      while (next < Math.min(sample, size)) first.push(await joinOne())
      const aloneFrom = size === largest ? size - sample : size
      // Between the samples, one join per user at a time.
      await Promise.all(Array.from({ length: USERS }, async () => {
        while (next < aloneFrom) {
          await joinOne()
          if (round.joined % 100 === 0) log(`${side}: ${round.joined} conversations`)
        }
      }))
      while (next < size) last.push(await joinOne())
      const { rss, heap } = await rig.memoryMiB()
      round.rssMiB.set(size, rss)
      round.heapMiB.set(size, heap)
      log(`${side}: ${rss.toFixed(0)} MiB (heap ${heap.toFixed(0)} MiB) in ${size} conversations`)
    }
    round.firstJoinMs = median(first)
    round.lastJoinMs = median(last)
  } catch (err) {
    round.failure = `${round.joined}/${largest} conversations joined: ${err instanceof Error ? err.message : String(err)}`
  } finally {
    const notes = await rig?.exit() ?? []
    if (notes.length > 0) round.failure = [round.failure, ...notes].filter((n) => n !== undefined).join('; ')
    await removeDirs(dirs)
  }
  if (round.failure !== undefined) log(`${side}: ${round.failure}`)
  return round
}

interface Figures { baseMiB?: Spread, rssMiB: Map<number, Spread | undefined>, heapMiB: Map<number, Spread | undefined>, perConversationMiB: Map<number, Spread | undefined>, firstJoinMs?: Spread, lastJoinMs?: Spread, failures: string[] }

function figures (rounds: Round[], side: Side): Figures {
  const rssMiB = new Map(SIZES.map((size) => [size, spread(rounds.map((r) => r.rssMiB.get(size)))]))
  const heapMiB = new Map(SIZES.map((size) => [size, spread(rounds.map((r) => r.heapMiB.get(size)))]))
  const perConversationMiB = new Map(SIZES.map((size) => [size, spread(rounds.map((r) => {
    const rss = r.rssMiB.get(size)
    return rss === undefined || r.baseMiB === undefined ? undefined : (rss - r.baseMiB) / size
  }))]))
  return {
    baseMiB: spread(rounds.map((r) => r.baseMiB)),
    rssMiB,
    heapMiB,
    perConversationMiB,
    firstJoinMs: spread(rounds.map((r) => r.firstJoinMs)),
    lastJoinMs: spread(rounds.map((r) => r.lastJoinMs)),
    failures: rounds.flatMap((r, i) => r.failure === undefined ? [] : [`${side}, round ${i + 1}: ${r.failure}`])
  }
}

export async function memory (): Promise<Section> {
  const rounds: Record<Side, Round[]> = { plain: [], bertybot: [] }
  for (let r = 1; r <= ROUNDS; r++) {
    log(`round ${r} of ${ROUNDS}`)
    for (const side of ['plain', 'bertybot'] as const) rounds[side].push(await measure(side))
  }
  const plain = figures(rounds.plain, 'plain')
  const ours = figures(rounds.bertybot, 'bertybot')
  const x = (a: Spread | undefined, b: Spread | undefined): string => a === undefined || b === undefined ? '-' : `${(a.median / b.median).toFixed(2)}x`
  const largest = SIZES[SIZES.length - 1] as number
  const sample = Math.min(SAMPLE, Math.floor(largest / 2))
  const lines = [
    `memory: the measured peer in its own process, joining conversations that ${USERS} users make; RSS after ${SETTLE_MS / 1000} s idle and a GC; MiB per conversation above the RSS in none; medians of ${ROUNDS} rounds (min–max)`,
    `${'conversations'.padEnd(16)}${'plain RSS MiB'.padStart(20)}${'bertybot RSS MiB'.padStart(20)}${'ratio'.padStart(8)}${'plain MiB/conv'.padStart(22)}${'bertybot MiB/conv'.padStart(22)}${'plain heap'.padStart(16)}${'bertybot heap'.padStart(16)}`,
    `${'none'.padEnd(16)}${showSpread(plain.baseMiB).padStart(20)}${showSpread(ours.baseMiB).padStart(20)}${x(ours.baseMiB, plain.baseMiB).padStart(8)}`
  ]
  for (const size of SIZES) {
    lines.push(`${String(size).padEnd(16)}${showSpread(plain.rssMiB.get(size)).padStart(20)}${showSpread(ours.rssMiB.get(size)).padStart(20)}${x(ours.rssMiB.get(size), plain.rssMiB.get(size)).padStart(8)}${showSpread(plain.perConversationMiB.get(size), 2).padStart(22)}${showSpread(ours.perConversationMiB.get(size), 2).padStart(22)}${showSpread(plain.heapMiB.get(size)).padStart(16)}${showSpread(ours.heapMiB.get(size)).padStart(16)}`)
  }
  lines.push(
    `join, ms (median of the first ${sample} and of the last ${sample}, one at a time): plain ${showSpread(plain.firstJoinMs)} first, ${showSpread(plain.lastJoinMs)} last; bertybot ${showSpread(ours.firstJoinMs)} first, ${showSpread(ours.lastJoinMs)} last`
  )
  const failures = [...plain.failures, ...ours.failures]
  if (failures.length > 0) lines.push('failures:', ...failures.map((f) => `  ${f}`))
  if (largest !== TARGET_SIZE) {
    lines.push(`targets (${TARGET_SIZE} conversations): not measured, the largest of BENCH_MEMORY_SIZES is ${largest}`)
  } else {
    const clean = ours.failures.length === 0
    const rss = ours.rssMiB.get(TARGET_SIZE)
    const joinRatio = ours.firstJoinMs !== undefined && ours.lastJoinMs !== undefined ? ours.lastJoinMs.median / ours.firstJoinMs.median : undefined
    lines.push(
      `target: an idle bot in ${TARGET_SIZE} conversations under ${TARGET_MIB} MiB: ${verdict(clean && rss !== undefined && rss.median < TARGET_MIB)}`,
      `target: joining the ${TARGET_SIZE}th conversation as quickly as the first (at most ${TARGET_JOIN_RATIO}x): ${verdict(clean && joinRatio !== undefined && joinRatio <= TARGET_JOIN_RATIO)}${joinRatio === undefined ? '' : ` (${joinRatio.toFixed(2)}x)`}`
    )
  }
  const json = (f: Figures): Record<string, unknown> => ({ ...f, rssMiB: Object.fromEntries(f.rssMiB), heapMiB: Object.fromEntries(f.heapMiB), perConversationMiB: Object.fromEntries(f.perConversationMiB) })
  return { json: { sizes: SIZES, users: USERS, rounds: ROUNDS, settleMs: SETTLE_MS, plain: json(plain), bertybot: json(ours) }, lines }
}
