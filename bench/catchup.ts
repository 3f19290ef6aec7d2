/**
 * Catch-up, for `npm run bench` (BENCH_ONLY=catchup): a writer and a reader
 * in processes of their own (`duo.ts`); the reader stops and its process
 * exits; the writer sends each of BENCH_CATCHUP messages, numbered; the
 * reader's process starts again on the same data directory.
 *
 * - restart time: createPeer until it resolved (plain: the node's start and
 *   reopening the log by address), on a directory that holds the history;
 * - time to the first and to the last message, from that moment;
 * - order: whether the messages arrived in the order sent, or the first one
 *   that did not.
 *
 * Baseline: plain @orbitdb/core, the same with an events log; stock OrbitDB
 * emits one `update` for the head of what a sync fetched, so its first and
 * last are usually the same event.
 */
import { Duo, type Arrival, type Side } from './duo.ts'
import { envNumber, envSizes, now, showSpread, spread, verdict, type Section, type Spread } from './shared.ts'

const SIZES = envSizes('BENCH_CATCHUP', [1000, 10000])
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT', 300) * 1000
const ROUNDS = envNumber('BENCH_ROUNDS', 3)
/** The issue's targets, for 10 000 messages. */
const TARGET_SIZE = 10000
const TARGET_LAST_S = 10
const TARGET_FIRST_S = 1
const TARGET_SPEED_UP = 5
/** "About 0.2 s": a restart counts as that up to this. */
const TARGET_RESTART_S = 0.25

interface Round {
  restartS?: number
  firstS?: number
  lastS?: number
  /** `in order`, or where order broke first. */
  order?: string
  /** How many events brought the messages (plain: one per head fetched). */
  events: number
  got: number
  failure?: string
}

function log (line: string): void {
  process.stderr.write(`catchup: ${line}\n`)
}

const numbered = /^(\d+) /

/** `in order`, or the first arrival out of the order sent. */
function orderOf (arrivals: Arrival[]): string {
  let expected = 0
  for (const [i, a] of arrivals.entries()) {
    const n = Number(numbered.exec(a.text)?.[1])
    if (n !== expected) return `#${n} arrived ${i === 0 ? 'first' : `after #${expected - 1}`}`
    expected++
  }
  return 'in order'
}

async function measure (side: Side, size: number): Promise<Round> {
  const round: Round = { events: 0, got: 0 }
  let duo: Duo | undefined
  try {
    duo = await Duo.start(side, TIMEOUT_MS)
    await duo.stopReader()
    log(`${side}: the reader is down; the writer sends ${size} messages...`)
    const ids = await duo.sendNumbered(size)
    const last = ids[ids.length - 1] as string
    const arrivals: Arrival[] = []
    const seen = new Set<string>()
    let lastAt: number | undefined
    duo.onArrival((a) => {
      if (!numbered.test(a.text)) return
      arrivals.push(a)
      seen.add(a.id)
      // bertybot hands over every message; plain OrbitDB's update for the last entry means it holds all behind it.
      if (lastAt === undefined && (side === 'plain' ? a.id === last : seen.size === size)) lastAt = a.at
    })
    log(`${side}: the reader starts again...`)
    const restart = await duo.restartReader(TIMEOUT_MS)
    round.restartS = restart.ms / 1000
    const done = await duo.cluster.until(() => lastAt !== undefined, TIMEOUT_MS, () => `${side === 'plain' ? `${arrivals.length} update events` : `${seen.size}/${size} messages`} after ${((now() - restart.resolvedAt) / 1000).toFixed(0)} s`)
    round.events = arrivals.length
    round.got = side === 'plain' ? (done ? size : 0) : seen.size
    if (arrivals[0] !== undefined) round.firstS = (arrivals[0].at - restart.resolvedAt) / 1000
    if (lastAt !== undefined) round.lastS = (lastAt - restart.resolvedAt) / 1000
    round.order = side === 'plain' ? `${arrivals.length} update event${arrivals.length === 1 ? '' : 's'}` : orderOf(arrivals)
    if (!done) round.failure = side === 'plain' ? `the reader did not have the last entry after ${TIMEOUT_MS / 1000} s` : `${seen.size}/${size} messages after ${TIMEOUT_MS / 1000} s`
  } catch (err) {
    round.failure = err instanceof Error ? err.message : String(err)
  } finally {
    const notes = await duo?.exit() ?? []
    await duo?.remove()
    if (notes.length > 0) round.failure = [round.failure, ...notes].filter((n) => n !== undefined).join('; ')
  }
  log(`${side}, ${size}: ${round.failure ?? `restart ${round.restartS?.toFixed(2)} s, first ${round.firstS?.toFixed(2)} s, last ${round.lastS?.toFixed(2)} s, ${round.order}`}`)
  return round
}

interface Figures { restartS?: Spread, firstS?: Spread, lastS?: Spread, orders: string[], failures: string[] }

function figures (rounds: Round[], label: string): Figures {
  return {
    restartS: spread(rounds.map((r) => r.restartS)),
    firstS: spread(rounds.map((r) => r.firstS)),
    lastS: spread(rounds.map((r) => r.lastS)),
    orders: [...new Set(rounds.map((r) => r.order ?? '-'))],
    failures: rounds.flatMap((r, i) => r.failure === undefined ? [] : [`${label}, round ${i + 1}: ${r.failure}`])
  }
}

export async function catchup (): Promise<Section> {
  const results: Array<{ size: number, plain: Figures, bertybot: Figures }> = []
  for (const size of SIZES) {
    const rounds: Record<Side, Round[]> = { plain: [], bertybot: [] }
    for (let r = 1; r <= ROUNDS; r++) {
      log(`${size} messages, round ${r} of ${ROUNDS}`)
      for (const side of ['plain', 'bertybot'] as const) rounds[side].push(await measure(side, size))
    }
    results.push({ size, plain: figures(rounds.plain, `plain, ${size}`), bertybot: figures(rounds.bertybot, `bertybot, ${size}`) })
  }
  const x = (a: Spread | undefined, b: Spread | undefined): string => a === undefined || b === undefined ? '-' : `${(a.median / b.median).toFixed(2)}x`
  const row = (size: string, label: string, f: Figures): string =>
    `${size.padEnd(10)}${label.padEnd(30)}${showSpread(f.restartS, 2).padStart(20)}${showSpread(f.firstS, 2).padStart(20)}${showSpread(f.lastS, 2).padStart(20)}  ${f.orders.join('; ')}`
  const lines = [
    `catchup: the reader (its own process) stops, the writer sends, the reader's process starts again on its data directory; times from its restart; medians of ${ROUNDS} rounds (min–max)`,
    `${'messages'.padEnd(10)}${''.padEnd(30)}${'restart s'.padStart(20)}${'to first s'.padStart(20)}${'to last s'.padStart(20)}  order`
  ]
  for (const { size, plain, bertybot } of results) {
    lines.push(
      row(String(size), 'plain @orbitdb/core', plain),
      row('', 'bertybot', bertybot),
      `${''.padEnd(10)}${'ratio'.padEnd(30)}${x(bertybot.restartS, plain.restartS).padStart(20)}${x(bertybot.firstS, plain.firstS).padStart(20)}${x(bertybot.lastS, plain.lastS).padStart(20)}`
    )
  }
  const failures = results.flatMap((r) => [...r.plain.failures, ...r.bertybot.failures])
  if (failures.length > 0) lines.push('failures:', ...failures.map((f) => `  ${f}`))
  const target = results.find((r) => r.size === TARGET_SIZE)
  if (target === undefined) {
    lines.push(`targets (${TARGET_SIZE} messages): not measured, BENCH_CATCHUP has no ${TARGET_SIZE}`)
  } else {
    const b = target.bertybot
    const clean = b.failures.length === 0
    const speedUp = b.lastS !== undefined && target.plain.lastS !== undefined ? target.plain.lastS.median / b.lastS.median : undefined
    lines.push(
      `target: ${TARGET_SIZE} messages to a returning member in under ${TARGET_LAST_S} s: ${verdict(clean && b.lastS !== undefined && b.lastS.median < TARGET_LAST_S)}`,
      `target: ... at least ${TARGET_SPEED_UP}x as fast as plain: ${verdict(clean && speedUp !== undefined && speedUp >= TARGET_SPEED_UP)}${speedUp === undefined ? ' (no plain figure to compare with)' : ` (${speedUp.toFixed(2)}x)`}`,
      `target: the first handed over within ${TARGET_FIRST_S} s of the restart: ${verdict(clean && b.firstS !== undefined && b.firstS.median <= TARGET_FIRST_S)}`,
      `target: the rest in causal order: ${verdict(clean && b.orders.length === 1 && b.orders[0] === 'in order')}`,
      `target: restart independent of history, about 0.2 s with ${TARGET_SIZE} messages (at most ${TARGET_RESTART_S} s): ${verdict(b.restartS !== undefined && b.restartS.median <= TARGET_RESTART_S)}`
    )
  }
  return { json: { sizes: SIZES, rounds: ROUNDS, timeoutMs: TIMEOUT_MS, results }, lines }
}
