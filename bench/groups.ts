/**
 * Groups, for `npm run bench` (BENCH_ONLY=groups): groups of each size in
 * BENCH_GROUP_SIZES, their members spread round-robin over BENCH_PROCESSES
 * worker processes.
 *
 * - bertybot: peer 0 creates the group; all others join by its invitation at
 *   once and find the rest themselves. Convergence: from the moment the last
 *   `joinGroup` resolved until every member's `members()` lists all of them.
 * - plain @orbitdb/core: peer 0 creates an events log; each other peer dials
 *   peer 0 and up to 4 random earlier peers (a connected random graph, so that
 *   gossipsub forms a mesh), opens the log by address and adds one entry.
 *   Convergence: from the last open resolved until every peer holds all entries.
 *
 * Then the fan-out: BENCH_GROUP_MESSAGES messages one at a time, each from
 * another member (round-robin), timed from `send()` / `add()` to each other
 * member's event for it; and the summed resident memory of the processes
 * (after a garbage collection). Each bertybot message of that fan-out is its
 * sender's first in the group, so it carries the sender's chain key sealed to
 * every member; the same members then send again (their later messages,
 * reported on a row of their own). The plain peers fan out a second time with
 * gossipsub alone (a topic of their own, no OrbitDB): plain gossip, which
 * still works at sizes where stock OrbitDB's multi-writer log no longer does. A group that does not converge within
 * BENCH_GROUP_TIMEOUT is reported with how far it got, and fanned out to all
 * the same (until its first messages all miss someone: then it is given up).
 */
import { Cluster } from './cluster.ts'
import { envNumber, envSizes, now, percentile, removeDirs, showSpread, spread, tempDir, TEXT, verdict, type Section, type Spread } from './shared.ts'

const SIZES = envSizes('BENCH_GROUP_SIZES', [5, 20, 50, 100])
const MESSAGES = envNumber('BENCH_GROUP_MESSAGES', 20)
const TIMEOUT_MS = envNumber('BENCH_GROUP_TIMEOUT', 300) * 1000
const PROCESSES = envNumber('BENCH_PROCESSES', 4)
const ROUNDS = envNumber('BENCH_ROUNDS', 3)
/** How long one fan-out message may take to reach every member; past it, the members without it count as missing. */
const MESSAGE_TIMEOUT_MS = 30_000
/** A fan-out whose first messages all miss someone is given up after this many: the rest would only wait. */
const ABANDON_AFTER = 3
/** Besides peer 0, how many earlier peers each plain peer dials. */
const PLAIN_EXTRA_DIALS = envNumber('BENCH_GROUP_PLAIN_DIALS', 4)
/** The size the issue's targets are about. */
const TARGET_SIZE = 100
/** Which sides to measure (both by default; one alone is for looking into that side, and its targets then read not met). */
const SIDES = (process.env.BENCH_GROUP_SIDES ?? 'plain,bertybot').split(',').map((s) => s.trim()).filter((s): s is Side => s === 'plain' || s === 'bertybot')

type Side = 'plain' | 'bertybot'

/** A fan-out of MESSAGES. */
interface FanOut {
  /** Latencies of every (message, receiver) pair that arrived, ms. */
  pairs: number[]
  /** Per message that reached everyone: the time until the last member had it, ms. */
  toAll: number[]
  /** (message, receiver) pairs that did not arrive within MESSAGE_TIMEOUT_MS. */
  missing: number
  /** CPU time all processes spent during the fan-out, per message sent, ms. */
  cpuMs?: number
}

/** One group, one round. */
interface Round {
  /** From the moment every join (or open) was called until the last resolved. */
  joinsMs?: number
  convergenceMs?: number
  fanOut: FanOut
  /** Plain peers only: the same fan-out with gossipsub alone. */
  gossip?: FanOut
  /** bertybot only: the same members again, their later messages (no chain key to share). */
  later?: FanOut
  rss?: number
  /** What went wrong, with how far it got. */
  failure?: string
}

interface FanOutFigures { p50?: Spread, p95?: Spread, toAll?: Spread, cpuMs?: Spread, missing: number }
interface Figures { joinsS?: Spread, convergenceS?: Spread, fanOut: FanOutFigures, gossip: FanOutFigures, later: FanOutFigures, rssMiB?: Spread, failures: string[] }

function log (line: string): void {
  process.stderr.write(`groups: ${line}\n`)
}

/**
 * Sends MESSAGES, one at a time, each by the next member; `send` resolves with
 * when it was called, and fails past MESSAGE_TIMEOUT_MS (a send that slow has
 * missed every member's deadline already).
 */
async function fanOut (cluster: Cluster, size: number, send: (from: number, text: string, timeoutMs: number) => Promise<number>, arrivals: Map<string, Map<number, number>>, round: Round, label = 'fan-out'): Promise<FanOut> {
  const result: FanOut = { pairs: [], toAll: [], missing: 0 }
  const cpuBefore = await cluster.cpuMs()
  let sent = 0
  for (let m = 0; m < MESSAGES; m++) {
    const from = m % size
    const text = `${label} ${m} ${TEXT}`
    const got = new Map<number, number>()
    arrivals.set(text, got)
    let complete = false
    try {
      const calledAt = await send(from, text, MESSAGE_TIMEOUT_MS)
      sent++
      complete = await cluster.until(() => got.size >= size - 1, MESSAGE_TIMEOUT_MS)
      for (const at of got.values()) result.pairs.push(at - calledAt)
      if (complete) result.toAll.push(Math.max(...got.values()) - calledAt)
    } catch (err) {
      note(round, `message ${m}: ${err instanceof Error ? err.message : String(err)}`)
    }
    if (!complete) result.missing += size - 1 - got.size
    if (result.toAll.length === 0 && m + 1 === ABANDON_AFTER) {
      note(round, `fan-out given up: none of the first ${ABANDON_AFTER} messages reached every member within ${MESSAGE_TIMEOUT_MS / 1000} s`)
      break
    }
  }
  if (sent > 0) result.cpuMs = (await cluster.cpuMs() - cpuBefore) / sent
  return result
}

/** How far the members got: the fewest and the median of what each knows (members, or entries), of `size`. */
function known (counts: Map<number, { count: number }>, size: number): string {
  const values = Array.from({ length: size }, (_, peer) => counts.get(peer)?.count ?? 0).sort((a, b) => a - b)
  return `fewest ${values[0] ?? 0}, median ${percentile(values, 0.5)}`
}

/** When the members came to know all: the first, half of them, nine in ten, the last; seconds from `since`. */
function spreadOver (counts: Map<number, { at: number }>, since: number): string {
  const times = [...counts.values()].map((c) => (c.at - since) / 1000).sort((a, b) => a - b)
  return `first ${(times[0] ?? 0).toFixed(1)}, half ${percentile(times, 0.5).toFixed(1)}, nine in ten ${percentile(times, 0.9).toFixed(1)}, last ${(times.at(-1) ?? 0).toFixed(1)} s`
}

function note (round: Round, failure: string): void {
  round.failure = round.failure === undefined ? failure : `${round.failure}; ${failure}`
}

/** Starts `size` peers of `kind`, in parallel, each in a directory of its own. */
async function startPeers (cluster: Cluster, kind: 'bertybot' | 'plain', dirs: string[]): Promise<string[][]> {
  const started = await Promise.all(dirs.map(async (dir, i) => await cluster.start(i, kind, dir, { displayName: `member ${i}` })))
  return started.map((s) => s.multiaddrs)
}

async function bertybotRound (cluster: Cluster, dirs: string[], round: Round): Promise<void> {
  const size = dirs.length
  await startPeers(cluster, 'bertybot', dirs)
  const counts = new Map<number, { count: number, at: number }>()
  const arrivals = new Map<string, Map<number, number>>()
  cluster.on((e) => {
    if (e.name === 'members') counts.set(e.peer, { count: e.count, at: e.at })
    else if (e.name === 'message') arrivals.get(e.text)?.set(e.peer, e.at)
  })
  const { group, invitation } = await cluster.call('createGroup', { peer: 0, name: 'bench group' })
  await cluster.call('watchMembers', { peer: 0, group })
  log(`${size - 1} peers join at once...`)
  const joinsCalledAt = now()
  // Each member is watched from its join on (as the plain side's peers are from their open): asked one by one after the
  // last join, the busy workers' answers would add seconds to the figure that the members had converged in already.
  const joins = await Promise.all(Array.from({ length: size - 1 }, async (_, i) => {
    const joined = await cluster.call('joinGroup', { peer: i + 1, invitation }, TIMEOUT_MS)
    await cluster.call('watchMembers', { peer: i + 1, group })
    return joined
  }))
  const lastJoin = Math.max(...joins.map((j) => j.resolvedAt))
  round.joinsMs = lastJoin - joinsCalledAt
  log(`the last join resolved ${(round.joinsMs / 1000).toFixed(1)} s after the joins began`)
  const converged = (): number => [...counts.values()].filter((c) => c.count >= size).length
  const state = (): string => `${converged()}/${size} converged (members known: ${known(counts, size)}) after ${((now() - lastJoin) / 1000).toFixed(0)} s`
  const done = await cluster.until(() => converged() === size, TIMEOUT_MS - (now() - lastJoin), state)
  if (done) round.convergenceMs = Math.max(0, ...[...counts.values()].map((c) => c.at - lastJoin))
  else note(round, state())
  log(`${done ? `converged in ${((round.convergenceMs ?? 0) / 1000).toFixed(1)} s (${spreadOver(counts, lastJoin)})` : 'did not converge'}; fan-out of ${MESSAGES} messages...`)
  const send = async (from: number, text: string, timeoutMs: number): Promise<number> => (await cluster.call('send', { peer: from, group, text }, timeoutMs)).calledAt
  round.fanOut = await fanOut(cluster, size, send, arrivals, round)
  log(`the same ${Math.min(MESSAGES, size)} members again, their later messages...`)
  round.later = await fanOut(cluster, size, send, arrivals, round, 'later')
}

async function plainRound (cluster: Cluster, dirs: string[], round: Round): Promise<void> {
  const size = dirs.length
  const addresses = await startPeers(cluster, 'plain', dirs)
  const counts = new Map<number, { count: number, at: number }>()
  const arrivals = new Map<string, Map<number, number>>()
  const gossiped = new Map<string, Map<number, number>>()
  cluster.on((e) => {
    if (e.name === 'entries') counts.set(e.peer, { count: e.count, at: e.at })
    else if (e.name === 'update') arrivals.get(e.value)?.set(e.peer, e.at)
    else if (e.name === 'gossip') gossiped.get(e.text)?.set(e.peer, e.at)
  })
  const topic = `bench-gossip-${now()}`
  const first = await cluster.call('openLog', { peer: 0, name: `bench-group-${size}-${now()}`, anyoneWrites: true, watch: true })
  await cluster.call('watchEntries', { peer: 0, log: first.address })
  await cluster.call('subscribe', { peer: 0, topic })
  await cluster.call('add', { peer: 0, log: first.address, value: 'joined 0' })
  log(`${size - 1} peers dial and open the log at once...`)
  const opensCalledAt = now()
  const opens = await Promise.all(Array.from({ length: size - 1 }, async (_, j) => {
    const peer = j + 1
    const earlier = Array.from({ length: peer - 1 }, (_, k) => k + 1).sort(() => Math.random() - 0.5).slice(0, PLAIN_EXTRA_DIALS)
    for (const target of [0, ...earlier]) await cluster.connect(peer, addresses[target]?.[0] as string, TIMEOUT_MS)
    const opened = await cluster.call('openLog', { peer, address: first.address, watch: true })
    await cluster.call('watchEntries', { peer, log: first.address })
    await cluster.call('subscribe', { peer, topic })
    await cluster.call('add', { peer, log: first.address, value: `joined ${peer}` })
    return opened
  }))
  const lastOpen = Math.max(...opens.map((o) => o.resolvedAt))
  round.joinsMs = lastOpen - opensCalledAt
  const converged = (): number => [...counts.values()].filter((c) => c.count >= size).length
  const state = (): string => `${converged()}/${size} hold every entry (entries held: ${known(counts, size)}) after ${((now() - lastOpen) / 1000).toFixed(0)} s`
  const done = await cluster.until(() => converged() === size, TIMEOUT_MS - (now() - lastOpen), state)
  if (done) round.convergenceMs = Math.max(0, ...[...counts.values()].map((c) => c.at - lastOpen))
  else note(round, state())
  log(`${done ? `converged in ${((round.convergenceMs ?? 0) / 1000).toFixed(1)} s` : 'did not converge'}; fan-out of ${MESSAGES} messages...`)
  round.fanOut = await fanOut(cluster, size, async (from, text, timeoutMs) => (await cluster.call('add', { peer: from, log: first.address, value: text }, timeoutMs)).calledAt, arrivals, round)
  log(`fan-out of ${MESSAGES} messages with gossipsub alone...`)
  round.gossip = await fanOut(cluster, size, async (from, text, timeoutMs) => (await cluster.call('publish', { peer: from, topic, text }, timeoutMs)).calledAt, gossiped, round)
}

async function measure (side: Side, size: number): Promise<Round> {
  const round: Round = { fanOut: { pairs: [], toAll: [], missing: 0 } }
  const dirs = await Promise.all(Array.from({ length: size }, async () => await tempDir()))
  let cluster: Cluster | undefined
  try {
    cluster = await Cluster.fork(Math.min(PROCESSES, size))
    await (side === 'bertybot' ? bertybotRound(cluster, dirs, round) : plainRound(cluster, dirs, round))
    round.rss = (await cluster.memory(0)).rss
  } catch (err) {
    note(round, err instanceof Error ? err.message : String(err))
  } finally {
    for (const n of await cluster?.exit() ?? []) note(round, n)
    await removeDirs(dirs)
  }
  if (round.failure !== undefined) log(`${side}, ${size} members: ${round.failure}`)
  return round
}

function fanOutFigures (fanOuts: FanOut[]): FanOutFigures {
  const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b)
  const withPairs = fanOuts.filter((f) => f.pairs.length > 0)
  return {
    p50: spread(withPairs.map((f) => percentile(sorted(f.pairs), 0.5))),
    p95: spread(withPairs.map((f) => percentile(sorted(f.pairs), 0.95))),
    toAll: spread(fanOuts.map((f) => f.toAll.length === 0 ? undefined : percentile(sorted(f.toAll), 0.5))),
    cpuMs: spread(fanOuts.map((f) => f.cpuMs)),
    missing: fanOuts.reduce((sum, f) => sum + f.missing, 0)
  }
}

function figures (rounds: Round[], side: Side, size: number): Figures {
  return {
    joinsS: spread(rounds.map((r) => r.joinsMs === undefined ? undefined : r.joinsMs / 1000)),
    convergenceS: spread(rounds.map((r) => r.convergenceMs === undefined ? undefined : r.convergenceMs / 1000)),
    fanOut: fanOutFigures(rounds.map((r) => r.fanOut)),
    gossip: fanOutFigures(rounds.flatMap((r) => r.gossip === undefined ? [] : [r.gossip])),
    later: fanOutFigures(rounds.flatMap((r) => r.later === undefined ? [] : [r.later])),
    rssMiB: spread(rounds.map((r) => r.rss === undefined ? undefined : r.rss / 2 ** 20)),
    failures: rounds.flatMap((r, i) => r.failure === undefined ? [] : [`${side}, ${size} members, round ${i + 1}: ${r.failure}`])
  }
}

const ratio = (a: Spread | undefined, b: Spread | undefined): string => a === undefined || b === undefined ? '-' : `${(a.median / b.median).toFixed(2)}x`

export async function groups (): Promise<Section> {
  const results: Array<{ size: number, plain: Figures, bertybot: Figures }> = []
  for (const size of SIZES) {
    const rounds: Record<Side, Round[]> = { plain: [], bertybot: [] }
    for (let r = 1; r <= ROUNDS; r++) {
      for (const side of SIDES) {
        log(`${side}, ${size} members, round ${r} of ${ROUNDS}`)
        rounds[side].push(await measure(side, size))
      }
    }
    results.push({ size, plain: figures(rounds.plain, 'plain', size), bertybot: figures(rounds.bertybot, 'bertybot', size) })
  }

  const head = `${'members'.padEnd(9)}${''.padEnd(30)}${'joins s'.padStart(20)}${'converge s'.padStart(24)}${'p50 ms'.padStart(24)}${'p95 ms'.padStart(24)}${'to all ms'.padStart(24)}${'RSS MiB'.padStart(24)}${'missing'.padStart(10)}${'CPU ms/msg'.padStart(24)}`
  const row = (size: string, label: string, joinsS: Spread | undefined, convergenceS: Spread | undefined, f: FanOutFigures, rssMiB: Spread | undefined): string =>
    `${size.padEnd(9)}${label.padEnd(30)}${showSpread(joinsS, 1).padStart(20)}${showSpread(convergenceS, 1).padStart(24)}${showSpread(f.p50, 1).padStart(24)}${showSpread(f.p95, 1).padStart(24)}${showSpread(f.toAll, 1).padStart(24)}${showSpread(rssMiB).padStart(24)}${String(f.missing).padStart(10)}${showSpread(f.cpuMs, 1).padStart(24)}`
  const ratioRow = (label: string, p: Figures, b: Figures, f: FanOutFigures): string =>
    `${''.padEnd(9)}${label.padEnd(30)}${''.padStart(20)}${ratio(b.convergenceS, f === p.fanOut ? p.convergenceS : undefined).padStart(24)}${ratio(b.fanOut.p50, f.p50).padStart(24)}${ratio(b.fanOut.p95, f.p95).padStart(24)}${ratio(b.fanOut.toAll, f.toAll).padStart(24)}${ratio(b.rssMiB, f === p.fanOut ? p.rssMiB : undefined).padStart(24)}${''.padStart(10)}${ratio(b.fanOut.cpuMs, f.cpuMs).padStart(24)}`
  const lines = [
    `groups: members spread over ${PROCESSES} processes; joins: from the moment all were called until the last resolved (a newcomer first waits to hear from a member); convergence from the last join until every member knows all; then ${MESSAGES} messages one at a time, each from another member, latency to each other member (p50, p95 over all pairs; "to all": median time until the last member had it); summed RSS after a GC; CPU time of all processes during the fan-out, per message (the plain side's includes its stock sync, still at work on a log that did not converge)`,
    `medians of ${ROUNDS} rounds (min–max); plain: stock @orbitdb/core events log, peers dialed as a connected random graph before the clock starts, and the same peers' gossipsub alone (gossipsub's penalty for peers on one IP off on both sides)`,
    head
  ]
  for (const { size, plain, bertybot } of results) {
    lines.push(
      row(String(size), 'plain @orbitdb/core', plain.joinsS, plain.convergenceS, plain.fanOut, plain.rssMiB),
      row('', 'plain gossipsub alone', undefined, undefined, plain.gossip, undefined),
      row('', 'bertybot', bertybot.joinsS, bertybot.convergenceS, bertybot.fanOut, bertybot.rssMiB),
      ratioRow('ratio to @orbitdb/core', plain, bertybot, plain.fanOut),
      ratioRow('ratio to gossipsub alone', plain, bertybot, plain.gossip),
      row('', 'bertybot, later messages', undefined, undefined, bertybot.later, undefined),
      `${''.padEnd(9)}${'ratio to gossipsub alone'.padEnd(30)}${''.padStart(44)}${ratio(bertybot.later.p50, plain.gossip.p50).padStart(24)}${ratio(bertybot.later.p95, plain.gossip.p95).padStart(24)}${ratio(bertybot.later.toAll, plain.gossip.toAll).padStart(24)}${''.padStart(34)}${ratio(bertybot.later.cpuMs, plain.gossip.cpuMs).padStart(24)}`
    )
  }
  const failures = results.flatMap((r) => [...r.plain.failures, ...r.bertybot.failures])
  if (failures.length > 0) lines.push('failures:', ...failures.map((f) => `  ${f}`))

  const target = results.find((r) => r.size === TARGET_SIZE)
  if (target === undefined) {
    lines.push(`targets (a group of ${TARGET_SIZE}): not measured, BENCH_GROUP_SIZES has no ${TARGET_SIZE}`)
  } else {
    const b = target.bertybot
    const clean = b.failures.length === 0 && b.fanOut.missing === 0
    const toAll = (f: FanOutFigures): number | undefined => b.fanOut.toAll !== undefined && f.toAll !== undefined ? b.fanOut.toAll.median / f.toAll.median : undefined
    const toOrbitDB = toAll(target.plain.fanOut)
    const toGossip = toAll(target.plain.gossip)
    const laterToGossip = b.later.toAll !== undefined && target.plain.gossip.toAll !== undefined ? b.later.toAll.median / target.plain.gossip.toAll.median : undefined
    const shown = (r: number | undefined): string => r === undefined ? '-' : `${r.toFixed(2)}x`
    lines.push(
      `target: ${TARGET_SIZE} members all know all others within 30 s of the last join: ${verdict(clean && b.convergenceS !== undefined && b.convergenceS.median <= 30)} (the last join resolved ${showSpread(b.joinsS, 1)} s after the joins began)`,
      `target: a message reaches all ${TARGET_SIZE} with p95 under 1 s: ${verdict(clean && b.fanOut.p95 !== undefined && b.fanOut.p95.median < 1000)}`,
      `target: ... in at most 1.2x plain's fan-out time (to all, against @orbitdb/core): ${verdict(clean && toOrbitDB !== undefined && toOrbitDB <= 1.2)} (${shown(toOrbitDB)}; against gossipsub alone ${shown(toGossip)}, and ${shown(laterToGossip)} for a member's later messages)`
    )
  }
  return { json: { sizes: SIZES, messages: MESSAGES, processes: PROCESSES, rounds: ROUNDS, timeoutMs: TIMEOUT_MS, results }, lines }
}
