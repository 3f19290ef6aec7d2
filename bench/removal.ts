/**
 * Removal, for `npm run bench` (BENCH_ONLY=removal): a group of
 * BENCH_REMOVAL_SIZE members spread round-robin over BENCH_PROCESSES worker
 * processes, formed as in `groups.ts` (peer 0 creates it, all others join at
 * once, until every member knows all). Then peer 0, the admin, removes the
 * last member: a new epoch, with new keys and logs. Timed from the
 * `removeMember` call:
 *
 * - until `removeMember` resolved (the admin's side of the epoch change);
 * - until every remaining member moved to the new epoch (its `groupChanged`);
 * - until every remaining member has sent one message in the new epoch (all
 *   at once, as soon as each moved) and read every other's.
 *
 * The removed member's peer keeps running: a message of the new epoch it
 * receives would be a failure, and is counted.
 */
import { Cluster } from './cluster.ts'
import { envNumber, now, removeDirs, showSpread, spread, tempDir, type Section } from './shared.ts'

const SIZE = envNumber('BENCH_REMOVAL_SIZE', 20)
const TIMEOUT_MS = envNumber('BENCH_GROUP_TIMEOUT', 300) * 1000
const PROCESSES = envNumber('BENCH_PROCESSES', 4)
const ROUNDS = envNumber('BENCH_ROUNDS', 3)

interface Round {
  /** From the call until `removeMember` resolved, ms. */
  removedMs?: number
  /** From the call until the last remaining member moved, ms. */
  movedMs?: number
  /** From the call until every remaining member sent in the new epoch and read all the others, ms. */
  talkingMs?: number
  /** New-epoch messages the removed member received (must stay 0). */
  leaked: number
  failure?: string
}

function log (line: string): void {
  process.stderr.write(`removal: ${line}\n`)
}

function note (round: Round, failure: string): void {
  round.failure = round.failure === undefined ? failure : `${round.failure}; ${failure}`
}

async function removalRound (cluster: Cluster, dirs: string[], round: Round): Promise<void> {
  const size = dirs.length
  const removed = size - 1
  const started = await Promise.all(dirs.map(async (dir, i) => await cluster.start(i, 'bertybot', dir, { displayName: `member ${i}` })))
  const members = new Map<number, number>()
  const moved = new Map<number, number>()
  /** Message text → member → when it arrived. */
  const arrivals = new Map<string, Map<number, number>>()
  cluster.on((e) => {
    if (e.name === 'members') members.set(e.peer, e.count)
    else if (e.name === 'epoch' && !e.removed) moved.set(e.peer, e.at)
    else if (e.name === 'message') {
      if (e.peer === removed && e.text.startsWith('epoch 2 ')) round.leaked++
      arrivals.get(e.text)?.set(e.peer, e.at)
    }
  })
  const { group, invitation } = await cluster.call('createGroup', { peer: 0, name: 'bench removal' })
  log(`${size - 1} peers join at once...`)
  await Promise.all(Array.from({ length: size - 1 }, async (_, i) => await cluster.call('joinGroup', { peer: i + 1, invitation }, TIMEOUT_MS)))
  for (let i = 0; i < size; i++) await cluster.call('watchMembers', { peer: i, group })
  const formed = await cluster.until(() => [...members.values()].filter((c) => c >= size).length === size, TIMEOUT_MS,
    () => `${[...members.values()].filter((c) => c >= size).length}/${size} know every member`)
  if (!formed) { note(round, 'the group did not form'); return }
  for (let i = 0; i < size; i++) await cluster.call('watchEpoch', { peer: i, group })

  log(`peer 0 removes peer ${removed}; the others move, then all send at once...`)
  const stays = Array.from({ length: size - 1 }, (_, i) => i)
  const texts = stays.map((i) => `epoch 2 from ${i}`)
  for (const text of texts) arrivals.set(text, new Map())
  const sendOnceMoved = async (peer: number): Promise<void> => {
    if (peer !== 0 && !await cluster.until(() => moved.has(peer), TIMEOUT_MS)) throw new Error(`peer ${peer} did not move to the new epoch`)
    await cluster.call('send', { peer, group, text: `epoch 2 from ${peer}` }, TIMEOUT_MS)
  }
  const { calledAt, resolvedAt } = await cluster.call('removeMember', { peer: 0, group, account: started[removed]?.accountId ?? '' }, TIMEOUT_MS)
  round.removedMs = resolvedAt - calledAt
  await Promise.all(stays.map(sendOnceMoved))
  // The admin moved when its call resolved; the others, at their `groupChanged`.
  round.movedMs = Math.max(...stays.slice(1).map((i) => moved.get(i) ?? Infinity)) - calledAt
  const readAll = (): boolean => texts.every((text, from) => stays.every((to) => to === from || arrivals.get(text)?.has(to) === true))
  const done = await cluster.until(readAll, TIMEOUT_MS, () => `${texts.filter((text, from) => stays.every((to) => to === from || arrivals.get(text)?.has(to) === true)).length}/${texts.length} messages read by all`)
  if (!done) { note(round, 'not every message of the new epoch reached every member'); return }
  round.talkingMs = Math.max(...[...arrivals.values()].flatMap((m) => [...m.values()])) - calledAt
}

async function measure (): Promise<Round> {
  const round: Round = { leaked: 0 }
  const dirs = await Promise.all(Array.from({ length: SIZE }, async () => await tempDir()))
  let cluster: Cluster | undefined
  try {
    cluster = await Cluster.fork(Math.min(PROCESSES, SIZE))
    await removalRound(cluster, dirs, round)
  } catch (err) {
    note(round, err instanceof Error ? err.message : String(err))
  } finally {
    for (const n of await cluster?.exit() ?? []) note(round, n)
    await removeDirs(dirs)
  }
  if (round.failure !== undefined) log(round.failure)
  return round
}

export async function removal (): Promise<Section> {
  const rounds: Round[] = []
  for (let r = 1; r <= ROUNDS; r++) {
    log(`${SIZE} members, round ${r} of ${ROUNDS}`)
    rounds.push(await measure())
  }
  const seconds = (pick: (r: Round) => number | undefined): string => showSpread(spread(rounds.map((r) => { const ms = pick(r); return ms === undefined ? undefined : ms / 1000 })), 2)
  const leaked = rounds.reduce((sum, r) => sum + r.leaked, 0)
  const failures = rounds.flatMap((r, i) => r.failure === undefined ? [] : [`round ${i + 1}: ${r.failure}`])
  const lines = [
    `removal: a group of ${SIZE} over ${PROCESSES} processes; the admin removes one member (a new epoch: keys, logs, the secret sealed to ${SIZE - 1}); seconds from the call, medians of ${ROUNDS} rounds (min–max)`,
    `  removeMember resolved (the admin's side):                    ${seconds((r) => r.removedMs)}`,
    `  every other remaining member moved to the new epoch:         ${seconds((r) => r.movedMs)}`,
    `  every remaining member sent there and read all the others:   ${seconds((r) => r.talkingMs)}`,
    `  new-epoch messages the removed member (still running) received: ${leaked}`
  ]
  if (failures.length > 0) lines.push('failures:', ...failures.map((f) => `  ${f}`))
  return { json: { size: SIZE, processes: PROCESSES, rounds: ROUNDS, results: rounds }, lines }
}
