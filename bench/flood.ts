/**
 * A connection flood, for `npm run bench` (BENCH_ONLY=flood): does the bot
 * keep serving its users while one address floods it with connections?
 *
 * The echo in a process of its own and BENCH_FLOOD_USERS users (all on
 * 127.0.0.1, as people behind one NAT are on one address), half of them
 * already its contacts. Quiet: the contacts send a message each and wait for
 * the replies, BENCH_FLOOD_PACES times. Then `flooder.ts`, in a process of its
 * own, opens TCP connections to the echo from another address (127.0.0.3)
 * as fast as it can for BENCH_FLOOD_SECONDS, sending nothing on them; in the
 * meantime the contacts go on as before and the other half of the users add
 * the echo. Figures: round trips quiet and under the flood, the new
 * contacts (all answered, and how long it took), the echo's CPU a second,
 * and what the flood got (connections a second, refused at once, most held
 * open at once).
 *
 * Baseline: the echo by hand on plain @orbitdb/core with libp2p's default
 * limits, measured the same way in the same run.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { EchoRig, type Side } from './echo-rig.ts'
import { envNumber, now, percentile, showSpread, spread, verdict, type Section, type Spread } from './shared.ts'

const USERS = envNumber('BENCH_FLOOD_USERS', 20)
const PACES = envNumber('BENCH_FLOOD_PACES', 20)
const FLOOD_SECONDS = envNumber('BENCH_FLOOD_SECONDS', 20)
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT', 300) * 1000
const ROUNDS = envNumber('BENCH_ROUNDS', 3)
/** The flooder's address: another host than the users'. */
const FLOOD_FROM = '127.0.0.3'
/** What "keeps serving" means here: round trips under the flood at most this many times the quiet ones, and every new contact answered. */
const TARGET_SLOWDOWN = 2

const floodResultSchema = z.object({
  opened: z.number(),
  failed: z.number(),
  refused: z.number(),
  heldUntilClosed: z.number(),
  mostOpen: z.number(),
  stillOpen: z.number(),
  perSecond: z.number()
})
type FloodResult = z.infer<typeof floodResultSchema>

interface Round {
  quietP50?: number
  quietP95?: number
  floodP50?: number
  floodP95?: number
  /** Echo CPU, ms per second of wall time, quiet and under the flood. */
  quietCpu?: number
  floodCpu?: number
  /** New contacts during the flood: how many were answered, and when the last was (s from the flood's start). */
  newAnswered: number
  newS?: number
  flood?: FloodResult
  failure?: string
}

function log (line: string): void {
  process.stderr.write(`flood: ${line}\n`)
}

/** The contacts each send one message and wait for all replies, `paces` times or until `until()`; the round trips. */
async function pace (rig: EchoRig, users: number[], paces: number, until: () => boolean = () => false): Promise<number[]> {
  const rtts: number[] = []
  for (let i = 0; i < paces && !until(); i++) {
    const { sent } = await rig.burst(1, users)
    await rig.cluster.until(() => [...sent.keys()].every((id) => rig.replies.has(id)), TIMEOUT_MS)
    for (const [id, at] of sent) {
      const reply = rig.replies.get(id)
      if (reply !== undefined) rtts.push(reply - at)
    }
  }
  return rtts.sort((a, b) => a - b)
}

/** Starts the flooder against `address`; resolves with what it reports when its time is up. */
function flood (address: string, seconds: number): { done: Promise<FloodResult>, stop: () => void } {
  const components = multiaddr(address).getComponents()
  const host = components.find((c) => c.name === 'ip4')?.value
  const port = components.find((c) => c.name === 'tcp')?.value
  if (host === undefined || port === undefined) throw new Error(`the echo's address ${address} is not an IPv4 TCP address`)
  const child = spawn(process.execPath, [fileURLToPath(new URL('./flooder.ts', import.meta.url)), host, port, String(seconds), FLOOD_FROM], { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const done = new Promise<FloodResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', (code) => {
      const parsed = floodResultSchema.safeParse((() => { try { return JSON.parse(output) } catch { return undefined } })())
      if (parsed.success) resolve(parsed.data)
      else reject(new Error(`the flooder exited (${String(code)}) without its figures`))
    })
  })
  return { done, stop: () => { child.kill('SIGKILL') } }
}

async function measure (side: Side): Promise<Round> {
  const round: Round = { newAnswered: 0 }
  let rig: EchoRig | undefined
  let flooder: { done: Promise<FloodResult>, stop: () => void } | undefined
  try {
    rig = await EchoRig.start(side, USERS, 1)
    const contacts = rig.users.slice(0, Math.ceil(USERS / 2))
    const newcomers = rig.users.slice(contacts.length)
    log(`${side}: ${contacts.length} users become contacts...`)
    const first = await rig.converse(TIMEOUT_MS, contacts)
    if (first.repliedAt.size < contacts.length) throw new Error(`only ${first.repliedAt.size}/${contacts.length} users became contacts before the flood`)

    log(`${side}: quiet, ${PACES} rounds of a message from each contact...`)
    const quietStart = now()
    const cpuBefore = (await rig.echoStats()).cpuMs
    const quiet = await pace(rig, contacts, PACES)
    const quietCpuMs = (await rig.echoStats()).cpuMs - cpuBefore
    round.quietCpu = quietCpuMs / ((now() - quietStart) / 1000)
    round.quietP50 = percentile(quiet, 0.5)
    round.quietP95 = percentile(quiet, 0.95)

    log(`${side}: flooding from ${FLOOD_FROM} for ${FLOOD_SECONDS} s; the contacts go on, ${newcomers.length} users add the echo...`)
    const floodStart = now()
    const cpuAtFlood = (await rig.echoStats()).cpuMs
    flooder = flood(rig.echoAddress, FLOOD_SECONDS)
    let flooding = true
    void flooder.done.finally(() => { flooding = false }).catch(() => {})
    const joining = rig.converse(FLOOD_SECONDS * 1000, newcomers)
    const underFlood = await pace(rig, contacts, Number.MAX_SAFE_INTEGER, () => !flooding)
    round.flood = await flooder.done
    const floodCpuMs = (await rig.echoStats()).cpuMs - cpuAtFlood
    round.floodCpu = floodCpuMs / ((now() - floodStart) / 1000)
    round.floodP50 = percentile(underFlood, 0.5)
    round.floodP95 = percentile(underFlood, 0.95)
    const joined = await joining
    round.newAnswered = joined.repliedAt.size
    if (joined.repliedAt.size === newcomers.length) round.newS = (Math.max(...joined.repliedAt.values()) - floodStart) / 1000
    else round.failure = `${joined.repliedAt.size}/${newcomers.length} new contacts answered during the flood`
  } catch (err) {
    round.failure = err instanceof Error ? err.message : String(err)
  } finally {
    flooder?.stop()
    const notes = await rig?.exit() ?? []
    if (notes.length > 0) round.failure = [round.failure, ...notes].filter((n) => n !== undefined).join('; ')
  }
  log(`${side}: ${round.failure ?? `round trip p95 ${round.quietP95?.toFixed(0)} ms quiet, ${round.floodP95?.toFixed(0)} ms under the flood; new contacts answered in ${round.newS?.toFixed(1)} s`}`)
  return round
}

interface Figures {
  quietP50?: Spread, quietP95?: Spread, floodP50?: Spread, floodP95?: Spread, quietCpu?: Spread, floodCpu?: Spread
  newS?: Spread, newAnswered: number, floodPerSecond?: Spread, refused?: Spread, mostOpen?: Spread, failures: string[]
}

function figures (rounds: Round[], side: Side): Figures {
  return {
    quietP50: spread(rounds.map((r) => r.quietP50)),
    quietP95: spread(rounds.map((r) => r.quietP95)),
    floodP50: spread(rounds.map((r) => r.floodP50)),
    floodP95: spread(rounds.map((r) => r.floodP95)),
    quietCpu: spread(rounds.map((r) => r.quietCpu)),
    floodCpu: spread(rounds.map((r) => r.floodCpu)),
    newS: spread(rounds.map((r) => r.newS)),
    newAnswered: Math.min(...rounds.map((r) => r.newAnswered)),
    floodPerSecond: spread(rounds.map((r) => r.flood?.perSecond)),
    refused: spread(rounds.map((r) => r.flood === undefined || r.flood.opened === 0 ? undefined : 100 * r.flood.refused / r.flood.opened)),
    mostOpen: spread(rounds.map((r) => r.flood?.mostOpen)),
    failures: rounds.flatMap((r, i) => r.failure === undefined ? [] : [`${side}, round ${i + 1}: ${r.failure}`])
  }
}

export async function floodSection (): Promise<Section> {
  const rounds: Record<Side, Round[]> = { plain: [], bertybot: [] }
  for (let r = 1; r <= ROUNDS; r++) {
    log(`round ${r} of ${ROUNDS}`)
    for (const side of ['plain', 'bertybot'] as const) rounds[side].push(await measure(side))
  }
  const plain = figures(rounds.plain, 'plain')
  const ours = figures(rounds.bertybot, 'bertybot')
  const newcomers = USERS - Math.ceil(USERS / 2)
  const row = (label: string, f: Figures): string => [
    label.padEnd(30),
    `${showSpread(f.quietP50)} / ${showSpread(f.quietP95)}`.padStart(26),
    `${showSpread(f.floodP50)} / ${showSpread(f.floodP95)}`.padStart(30),
    `${f.newAnswered}/${newcomers} in ${showSpread(f.newS, 1)} s`.padStart(24),
    `${showSpread(f.quietCpu)} / ${showSpread(f.floodCpu)}`.padStart(24),
    showSpread(f.floodPerSecond).padStart(16),
    showSpread(f.refused).padStart(12),
    showSpread(f.mostOpen).padStart(12)
  ].join('')
  const slowdown = ours.floodP95 !== undefined && ours.quietP95 !== undefined ? ours.floodP95.median / ours.quietP95.median : undefined
  const lines = [
    `flood: the echo in its own process, ${USERS} users on 127.0.0.1 (half of them contacts); ${FLOOD_SECONDS} s of TCP connections from ${FLOOD_FROM} sending nothing, while the contacts go on and the other half add the echo; medians of ${ROUNDS} rounds (min–max)`,
    [''.padEnd(30), 'quiet p50 / p95 ms'.padStart(26), 'under the flood p50 / p95 ms'.padStart(30), 'new contacts answered'.padStart(24), 'echo CPU ms/s q / f'.padStart(24), 'flood conn/s'.padStart(16), 'refused %'.padStart(12), 'most open'.padStart(12)].join(''),
    row('plain @orbitdb/core, by hand', plain),
    row('bertybot echo bot', ours)
  ]
  const failures = [...plain.failures, ...ours.failures]
  if (failures.length > 0) lines.push('failures:', ...failures.map((f) => `  ${f}`))
  lines.push(`target (ours): under the flood, every new contact answered and round trips p95 within ${TARGET_SLOWDOWN}x the quiet ones: ${verdict(ours.failures.length === 0 && ours.newAnswered === newcomers && slowdown !== undefined && slowdown <= TARGET_SLOWDOWN)}${slowdown === undefined ? '' : ` (${slowdown.toFixed(2)}x)`}`)
  return { json: { users: USERS, paces: PACES, floodSeconds: FLOOD_SECONDS, rounds: ROUNDS, plain, bertybot: ours }, lines }
}
