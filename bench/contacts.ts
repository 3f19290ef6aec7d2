/**
 * Contacts, for `npm run bench` (BENCH_ONLY=contacts): BENCH_CONTACT_USERS
 * users add the echo bot at once; each sends one message as soon as the bot
 * accepted, and waits for the echo (`echo-rig.ts`). Timed from the moment
 * they all start: until every contact is accepted, until every first reply,
 * and the average per contact (the time until the last reply / users).
 * Baseline: the same conversations set up by hand on plain @orbitdb/core
 * (a log each way per user), timed the same way. What is still missing at
 * BENCH_TIMEOUT is reported.
 */
import { EchoRig, type Side } from './echo-rig.ts'
import { envNumber, showSpread, spread, verdict, type Section, type Spread } from './shared.ts'

const USERS = envNumber('BENCH_CONTACT_USERS', 200)
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT', 300) * 1000
const PROCESSES = envNumber('BENCH_PROCESSES', 4)
const ROUNDS = envNumber('BENCH_ROUNDS', 3)
/** The issue's target: on average under 0.2 s per contact. */
const TARGET_PER_CONTACT_S = 0.2

interface Round {
  /** Until every contact was accepted / every first reply arrived, s; undefined if some never did. */
  acceptedS?: number
  repliedS?: number
  notAccepted: number
  notReplied: number
  failure?: string
}

function log (line: string): void {
  process.stderr.write(`contacts: ${line}\n`)
}

async function measure (side: Side): Promise<Round> {
  const round: Round = { notAccepted: USERS, notReplied: USERS }
  let rig: EchoRig | undefined
  try {
    log(`${side}: starting the echo and ${USERS} users...`)
    rig = await EchoRig.start(side, USERS, PROCESSES)
    log(`${side}: ${USERS} users add the echo at once...`)
    const { startedAt, acceptedAt, repliedAt } = await rig.converse(TIMEOUT_MS)
    round.notAccepted = USERS - acceptedAt.size
    round.notReplied = USERS - repliedAt.size
    if (round.notAccepted === 0) round.acceptedS = (Math.max(...acceptedAt.values()) - startedAt) / 1000
    if (round.notReplied === 0) round.repliedS = (Math.max(...repliedAt.values()) - startedAt) / 1000
    else round.failure = `${acceptedAt.size}/${USERS} accepted, ${repliedAt.size}/${USERS} answered after ${TIMEOUT_MS / 1000} s`
  } catch (err) {
    round.failure = err instanceof Error ? err.message : String(err)
  } finally {
    const notes = await rig?.exit() ?? []
    if (notes.length > 0) round.failure = [round.failure, ...notes].filter((n) => n !== undefined).join('; ')
  }
  log(`${side}: ${round.failure ?? `all accepted in ${round.acceptedS?.toFixed(1)} s, all answered in ${round.repliedS?.toFixed(1)} s`}`)
  return round
}

interface Figures { acceptedS?: Spread, repliedS?: Spread, perContactS?: Spread, notAccepted: number, notReplied: number, failures: string[] }

function figures (rounds: Round[], side: Side): Figures {
  return {
    acceptedS: spread(rounds.map((r) => r.acceptedS)),
    repliedS: spread(rounds.map((r) => r.repliedS)),
    perContactS: spread(rounds.map((r) => r.repliedS === undefined ? undefined : r.repliedS / USERS)),
    notAccepted: Math.max(...rounds.map((r) => r.notAccepted)),
    notReplied: Math.max(...rounds.map((r) => r.notReplied)),
    failures: rounds.flatMap((r, i) => r.failure === undefined ? [] : [`${side}, round ${i + 1}: ${r.failure}`])
  }
}

export async function contacts (): Promise<Section> {
  const rounds: Record<Side, Round[]> = { plain: [], bertybot: [] }
  for (let r = 1; r <= ROUNDS; r++) {
    log(`round ${r} of ${ROUNDS}`)
    for (const side of ['plain', 'bertybot'] as const) rounds[side].push(await measure(side))
  }
  const plain = figures(rounds.plain, 'plain')
  const ours = figures(rounds.bertybot, 'bertybot')
  const x = (a: Spread | undefined, b: Spread | undefined): string => a === undefined || b === undefined ? '-' : `${(a.median / b.median).toFixed(2)}x`
  const row = (label: string, f: Figures): string =>
    `${label.padEnd(34)}${showSpread(f.acceptedS, 1).padStart(20)}${showSpread(f.repliedS, 1).padStart(20)}${showSpread(f.perContactS, 3).padStart(22)}${`${f.notAccepted}/${f.notReplied}`.padStart(20)}`
  const complete = ours.failures.length === 0 && ours.notReplied === 0
  const lines = [
    `contacts: ${USERS} users (over ${PROCESSES} processes) add the echo (its own process) at once, each sends one message once accepted; medians of ${ROUNDS} rounds (min–max); missing: the most in a round`,
    `${''.padEnd(34)}${'all accepted s'.padStart(20)}${'all answered s'.padStart(20)}${'s per contact'.padStart(22)}${'missing acc/ans'.padStart(20)}`,
    row('plain @orbitdb/core, by hand', plain),
    row('bertybot echo bot', ours),
    `${'ratio (bertybot / baseline)'.padEnd(34)}${x(ours.acceptedS, plain.acceptedS).padStart(20)}${x(ours.repliedS, plain.repliedS).padStart(20)}${x(ours.perContactS, plain.perContactS).padStart(22)}`
  ]
  const failures = [...plain.failures, ...ours.failures]
  if (failures.length > 0) lines.push('failures:', ...failures.map((f) => `  ${f}`))
  lines.push(
    `target: every contact accepted and every first message answered, none missing: ${verdict(complete)}`,
    `target: on average under ${TARGET_PER_CONTACT_S} s per contact: ${verdict(complete && ours.perContactS !== undefined && ours.perContactS.median < TARGET_PER_CONTACT_S)}`
  )
  return { json: { users: USERS, processes: PROCESSES, rounds: ROUNDS, timeoutMs: TIMEOUT_MS, plain, bertybot: ours }, lines }
}
