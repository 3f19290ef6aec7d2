/**
 * Disk, for `npm run bench` (BENCH_ONLY=disk): a writer and a reader in
 * processes of their own (`duo.ts`); the writer sends BENCH_DISK_MESSAGES
 * messages of about 100 bytes, the reader receives them all, both stop.
 * Bytes per message of each member: the bytes in its data directory (the sum
 * of its files' sizes) after they stopped, less those measured after set-up,
 * before the messages, divided by the messages. Baseline: plain
 * @orbitdb/core, a writer and a reader of one events log, the same way.
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Duo, type Side } from './duo.ts'
import { envNumber, showSpread, spread, verdict, type Section, type Spread } from './shared.ts'

const MESSAGES = envNumber('BENCH_DISK_MESSAGES', 10000)
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT', 300) * 1000
const ROUNDS = envNumber('BENCH_ROUNDS', 3)
/** The issue's target: members' bytes per message at most this times plain's. */
const TARGET_RATIO = 1.2

interface Round { writer?: number, reader?: number, failure?: string }

function log (line: string): void {
  process.stderr.write(`disk: ${line}\n`)
}

/** The sum of the sizes of the files under `dir`. */
async function bytesIn (dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size
  }
  return total
}

async function measure (side: Side): Promise<Round> {
  const round: Round = {}
  let duo: Duo | undefined
  const failed = (why: string): void => { round.failure = round.failure === undefined ? why : `${round.failure}; ${why}` }
  try {
    duo = await Duo.start(side, TIMEOUT_MS)
    const before = { writer: await bytesIn(duo.dirs.writer), reader: await bytesIn(duo.dirs.reader) }
    const seen = new Set<string>()
    let lastId: string | undefined
    let complete = false
    duo.onArrival((a) => {
      if (!/^\d+ /.test(a.text)) return
      seen.add(a.id)
      // Plain OrbitDB's update for the last entry means the reader holds every entry behind it.
      if (side === 'bertybot' ? seen.size === MESSAGES : a.id === lastId) complete = true
    })
    log(`${side}: the writer sends ${MESSAGES} messages...`)
    const ids = await duo.sendNumbered(MESSAGES)
    lastId = ids[ids.length - 1]
    if (side === 'plain' && lastId !== undefined && seen.has(lastId)) complete = true
    const done = await duo.cluster.until(() => complete, TIMEOUT_MS, () => `the reader has ${seen.size}/${MESSAGES}`)
    // Bytes are counted once both have stopped: the stores are closed then.
    const notes = await duo.exit()
    notes.forEach(failed)
    if (done) {
      round.writer = (await bytesIn(duo.dirs.writer) - before.writer) / MESSAGES
      round.reader = (await bytesIn(duo.dirs.reader) - before.reader) / MESSAGES
    } else {
      failed(`the reader had ${seen.size}/${MESSAGES} messages after ${TIMEOUT_MS / 1000} s`)
    }
  } catch (err) {
    failed(err instanceof Error ? err.message : String(err))
  } finally {
    // Exiting again after a clean exit does nothing: every process has ended.
    await duo?.exit()
    await duo?.remove()
  }
  log(`${side}: ${round.failure ?? `writer ${round.writer?.toFixed(0)} B, reader ${round.reader?.toFixed(0)} B per message`}`)
  return round
}

export async function disk (): Promise<Section> {
  const rounds: Record<Side, Round[]> = { plain: [], bertybot: [] }
  for (let r = 1; r <= ROUNDS; r++) {
    log(`round ${r} of ${ROUNDS}`)
    for (const side of ['plain', 'bertybot'] as const) rounds[side].push(await measure(side))
  }
  const of = (side: Side, member: 'writer' | 'reader'): Spread | undefined => spread(rounds[side].map((r) => r[member]))
  const plain = { writer: of('plain', 'writer'), reader: of('plain', 'reader') }
  const ours = { writer: of('bertybot', 'writer'), reader: of('bertybot', 'reader') }
  const ratio = (member: 'writer' | 'reader'): number | undefined => {
    const a = ours[member]
    const b = plain[member]
    return a === undefined || b === undefined ? undefined : a.median / b.median
  }
  const x = (r: number | undefined): string => r === undefined ? '-' : `${r.toFixed(2)}x`
  const row = (label: string, f: { writer?: Spread, reader?: Spread }): string => `${label.padEnd(30)}${showSpread(f.writer).padStart(22)}${showSpread(f.reader).padStart(22)}`
  const failures = (['plain', 'bertybot'] as const).flatMap((side) => rounds[side].flatMap((r, i) => r.failure === undefined ? [] : [`${side}, round ${i + 1}: ${r.failure}`]))
  const lines = [
    `disk: a writer and a reader (processes of their own); ${MESSAGES} messages of about 100 bytes; bytes on disk after both stopped, less those after set-up, per message; medians of ${ROUNDS} rounds (min–max)`,
    `${''.padEnd(30)}${'writer B/msg'.padStart(22)}${'reader B/msg'.padStart(22)}`,
    row('plain @orbitdb/core', plain),
    row('bertybot', ours),
    `${'ratio (bertybot / baseline)'.padEnd(30)}${x(ratio('writer')).padStart(22)}${x(ratio('reader')).padStart(22)}`
  ]
  if (failures.length > 0) lines.push('failures:', ...failures.map((f) => `  ${f}`))
  const met = rounds.bertybot.every((r) => r.failure === undefined) && [ratio('writer'), ratio('reader')].every((r) => r !== undefined && r <= TARGET_RATIO)
  lines.push(`target: at most ${TARGET_RATIO}x plain's bytes per message, for members (writer and reader): ${verdict(met)}`)
  return { json: { messages: MESSAGES, rounds: ROUNDS, plain, bertybot: ours }, lines }
}
