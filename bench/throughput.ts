/**
 * Throughput, for `npm run bench` (BENCH_ONLY=throughput): the echo bot in a
 * process of its own, and 1, then 10 senders (BENCH_THROUGHPUT_SENDERS) that
 * are already its contacts (and had a first message answered), each sending
 * BENCH_THROUGHPUT_MESSAGES back to back without waiting for replies.
 *
 * - handled per second: messages the bot's handler finished (its reply
 *   committed to the outbox), as the bot's process counts them, from the first
 *   send until the last handled;
 * - replied per second: replies the senders received, until the last one;
 * - round trip p50 / p95: from `send()` to its reply at the sender;
 * - replies keep up: replied per second within 10% of handled per second;
 * - echo CPU ms/message: the CPU time of the echo's process over the burst,
 *   per message handled: steadier than the rates on a shared machine;
 * - senders' CPU ms/message: that of the senders' processes, per message sent
 *   and answered. On a machine of two cores both are busy all through a
 *   burst, so the rate is bound by the two together, not by the echo alone.
 *
 * Baseline: the echo by hand on plain @orbitdb/core (`echo-rig.ts`), each
 * sender with its own pair of logs, measured the same way.
 */
import { EchoRig, type Side } from './echo-rig.ts'
import { envNumber, envSizes, percentile, showSpread, spread, verdict, type Section, type Spread } from './shared.ts'

const SENDERS = envSizes('BENCH_THROUGHPUT_SENDERS', [1, 10])
const MESSAGES = envNumber('BENCH_THROUGHPUT_MESSAGES', 300)
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT', 300) * 1000
/**
 * The senders' processes. One by default: they are the load, not what is
 * measured, and on a machine of two cores every further process of theirs
 * takes CPU from the bot in switching alone (with four, the senders spent
 * 2.4 ms of CPU per message they sent and read back; in one, 1.3 ms).
 */
const PROCESSES = envNumber('BENCH_THROUGHPUT_PROCESSES', 1)
const ROUNDS = envNumber('BENCH_ROUNDS', 3)
/** The sides measured (BENCH_THROUGHPUT_SIDES): both by default; one alone to compare versions of one side. */
const SIDES = (process.env.BENCH_THROUGHPUT_SIDES ?? 'plain,bertybot').split(',').map((s) => s.trim()).filter((s): s is Side => s === 'plain' || s === 'bertybot')
/** The issue's target, with 10 senders. */
const TARGET_PER_SECOND = 500
const TARGET_SENDERS = 10
/** Replies keep up when they come at least this fraction of the rate messages are handled. */
const KEEP_UP = 0.9

interface Round {
  handledPerS?: number
  repliedPerS?: number
  p50?: number
  p95?: number
  /** The echo's process: CPU milliseconds per message handled (received, handled and answered). */
  cpuMsPerMessage?: number
  /** The senders' processes: CPU milliseconds per message sent and answered. */
  sendersCpuMsPerMessage?: number
  /** Messages with no reply at the timeout. */
  missing: number
  failure?: string
}

function log (line: string): void {
  process.stderr.write(`throughput: ${line}\n`)
}

async function burstRound (rig: EchoRig, senders: number, round: Round): Promise<void> {
  const conversations = await rig.converse(TIMEOUT_MS)
  if (conversations.repliedAt.size < senders) throw new Error(`only ${conversations.repliedAt.size}/${senders} senders got their first message answered`)
  const before = await rig.echoStats()
  const allBefore = await rig.cluster.cpuMs()
  log(`${rig.side}, ${senders} senders: ${MESSAGES} messages each, back to back...`)
  const { startedAt, sent } = await rig.burst(MESSAGES)
  const answered = (): number => [...sent.keys()].filter((id) => rig.replies.has(id)).length
  await rig.cluster.until(() => answered() === sent.size, TIMEOUT_MS, () => `${answered()}/${sent.size} replies`)
  const after = await rig.echoStats()
  const allAfter = await rig.cluster.cpuMs()
  const rtts = [...sent].flatMap(([id, at]) => { const reply = rig.replies.get(id); return reply === undefined ? [] : [reply - at] }).sort((a, b) => a - b)
  round.missing = sent.size - rtts.length
  const handled = after.handled - before.handled
  if (after.lastHandledAt !== undefined && handled > 0) round.handledPerS = handled / ((after.lastHandledAt - startedAt) / 1000)
  if (handled > 0) round.cpuMsPerMessage = (after.cpuMs - before.cpuMs) / handled
  if (rtts.length > 0) round.sendersCpuMsPerMessage = ((allAfter - allBefore) - (after.cpuMs - before.cpuMs)) / rtts.length
  if (rtts.length > 0) {
    const lastReply = Math.max(...[...sent.keys()].map((id) => rig.replies.get(id) ?? 0))
    round.repliedPerS = rtts.length / ((lastReply - startedAt) / 1000)
    round.p50 = percentile(rtts, 0.5)
    round.p95 = percentile(rtts, 0.95)
  }
  if (round.missing > 0) round.failure = `${round.missing}/${sent.size} messages without a reply after ${TIMEOUT_MS / 1000} s (${handled} handled)`
}

async function measure (side: Side, senders: number): Promise<Round> {
  const round: Round = { missing: senders * MESSAGES }
  let rig: EchoRig | undefined
  try {
    rig = await EchoRig.start(side, senders, PROCESSES)
    await burstRound(rig, senders, round)
  } catch (err) {
    round.failure = err instanceof Error ? err.message : String(err)
  } finally {
    const notes = await rig?.exit() ?? []
    if (notes.length > 0) round.failure = [round.failure, ...notes].filter((n) => n !== undefined).join('; ')
  }
  log(`${side}, ${senders} senders: ${round.failure ?? `${round.handledPerS?.toFixed(0)} handled/s, ${round.repliedPerS?.toFixed(0)} replied/s, ${round.cpuMsPerMessage?.toFixed(2)} ms of the echo's CPU and ${round.sendersCpuMsPerMessage?.toFixed(2)} of the senders' a message`}`)
  return round
}

interface Figures { handledPerS?: Spread, repliedPerS?: Spread, p50?: Spread, p95?: Spread, cpuMs?: Spread, sendersCpuMs?: Spread, keptUp: boolean, missing: number, failures: string[] }

function figures (rounds: Round[], label: string): Figures {
  const handledPerS = spread(rounds.map((r) => r.handledPerS))
  const repliedPerS = spread(rounds.map((r) => r.repliedPerS))
  return {
    handledPerS,
    repliedPerS,
    p50: spread(rounds.map((r) => r.p50)),
    p95: spread(rounds.map((r) => r.p95)),
    cpuMs: spread(rounds.map((r) => r.cpuMsPerMessage)),
    sendersCpuMs: spread(rounds.map((r) => r.sendersCpuMsPerMessage)),
    keptUp: handledPerS !== undefined && repliedPerS !== undefined && repliedPerS.median >= KEEP_UP * handledPerS.median,
    missing: Math.max(...rounds.map((r) => r.missing)),
    failures: rounds.flatMap((r, i) => r.failure === undefined ? [] : [`${label}, round ${i + 1}: ${r.failure}`])
  }
}

export async function throughput (): Promise<Section> {
  const results: Array<{ senders: number, plain: Figures, bertybot: Figures }> = []
  for (const senders of SENDERS) {
    const rounds: Record<Side, Round[]> = { plain: [], bertybot: [] }
    for (let r = 1; r <= ROUNDS; r++) {
      log(`${senders} senders, round ${r} of ${ROUNDS}`)
      for (const side of SIDES) rounds[side].push(await measure(side, senders))
    }
    results.push({ senders, plain: figures(rounds.plain, `plain, ${senders} senders`), bertybot: figures(rounds.bertybot, `bertybot, ${senders} senders`) })
  }
  const x = (a: Spread | undefined, b: Spread | undefined): string => a === undefined || b === undefined ? '-' : `${(a.median / b.median).toFixed(2)}x`
  const row = (senders: string, label: string, f: Figures): string =>
    `${senders.padEnd(9)}${label.padEnd(30)}${showSpread(f.handledPerS).padStart(18)}${showSpread(f.repliedPerS).padStart(18)}${showSpread(f.p50).padStart(22)}${showSpread(f.p95).padStart(22)}${showSpread(f.cpuMs, 2).padStart(22)}${showSpread(f.sendersCpuMs, 2).padStart(25)}${(f.keptUp ? 'yes' : 'no').padStart(10)}${String(f.missing).padStart(9)}`
  const lines = [
    `throughput: the echo in its own process; senders (over ${PROCESSES} processes), each already a contact, send ${MESSAGES} messages back to back without waiting; medians of ${ROUNDS} rounds (min–max)`,
    `${'senders'.padEnd(9)}${''.padEnd(30)}${'handled/s'.padStart(18)}${'replied/s'.padStart(18)}${'round trip p50 ms'.padStart(22)}${'round trip p95 ms'.padStart(22)}${'echo CPU ms/message'.padStart(22)}${'senders CPU ms/message'.padStart(25)}${'kept up'.padStart(10)}${'missing'.padStart(9)}`
  ]
  for (const { senders, plain, bertybot } of results) {
    lines.push(
      row(String(senders), 'plain @orbitdb/core, by hand', plain),
      row('', 'bertybot echo bot', bertybot),
      `${''.padEnd(9)}${'ratio'.padEnd(30)}${x(bertybot.handledPerS, plain.handledPerS).padStart(18)}${x(bertybot.repliedPerS, plain.repliedPerS).padStart(18)}${x(bertybot.p50, plain.p50).padStart(22)}${x(bertybot.p95, plain.p95).padStart(22)}${x(bertybot.cpuMs, plain.cpuMs).padStart(22)}${x(bertybot.sendersCpuMs, plain.sendersCpuMs).padStart(25)}`
    )
  }
  const failures = results.flatMap((r) => [...r.plain.failures, ...r.bertybot.failures])
  if (failures.length > 0) lines.push('failures:', ...failures.map((f) => `  ${f}`))
  const target = results.find((r) => r.senders === TARGET_SENDERS)?.bertybot
  if (target === undefined) {
    lines.push(`targets (${TARGET_SENDERS} senders): not measured, BENCH_THROUGHPUT_SENDERS has no ${TARGET_SENDERS}`)
  } else {
    const clean = target.failures.length === 0
    const rate = Math.min(target.handledPerS?.median ?? 0, target.repliedPerS?.median ?? 0)
    lines.push(
      `target: at least ${TARGET_PER_SECOND} messages a second handled and replied to, with ${TARGET_SENDERS} senders: ${verdict(clean && rate >= TARGET_PER_SECOND)} (${rate.toFixed(0)}/s)`,
      `target: replies keep up with what is handled (within ${Math.round((1 - KEEP_UP) * 100)}%): ${verdict(clean && target.keptUp)}`
    )
  }
  return { json: { senders: SENDERS, messages: MESSAGES, processes: PROCESSES, rounds: ROUNDS, results }, lines }
}
