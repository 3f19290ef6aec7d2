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
 *
 * Baseline, in the same round: plain @orbitdb/core peers, as many as stay,
 * already connected (each dials peer 0 and a few earlier ones at random, as
 * the groups section's plain peers do), move to a fresh events log: peer 0
 * creates it and writes, the others open it by its address at once and each
 * writes one entry; timed from its creation until every peer holds all of
 * them. That is what moving the same members to new logs costs on stock
 * OrbitDB, with no keys to make, seal or open and no epoch entry to agree on.
 */
import { Cluster } from './cluster.ts'
import { envNumber, now, removeDirs, showSpread, spread, tempDir, type Section } from './shared.ts'

const SIZE = envNumber('BENCH_REMOVAL_SIZE', 20)
const TIMEOUT_MS = envNumber('BENCH_GROUP_TIMEOUT', 300) * 1000
const PROCESSES = envNumber('BENCH_PROCESSES', 4)
const ROUNDS = envNumber('BENCH_ROUNDS', 3)

/** Besides peer 0, how many earlier peers each plain peer dials (as in groups.ts). */
const PLAIN_EXTRA_DIALS = envNumber('BENCH_GROUP_PLAIN_DIALS', 4)

interface Round {
  /** From the call until `removeMember` resolved, ms. */
  removedMs?: number
  /** From the call until the last remaining member moved, ms. */
  movedMs?: number
  /** From the call until every remaining member sent in the new epoch and read all the others, ms. */
  talkingMs?: number
  /** New-epoch messages the removed member received (must stay 0). */
  leaked: number
  /** Baseline: from creating a fresh plain log until every staying peer holds every one's entry, ms. */
  plainMs?: number
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

async function plainMoveRound (cluster: Cluster, dirs: string[], round: Round): Promise<void> {
  const size = dirs.length
  const started = await Promise.all(dirs.map(async (dir, i) => await cluster.start(i, 'plain', dir, { displayName: `member ${i}` })))
  for (let peer = 1; peer < size; peer++) {
    const earlier = Array.from({ length: peer - 1 }, (_, k) => k + 1).sort(() => Math.random() - 0.5).slice(0, PLAIN_EXTRA_DIALS)
    for (const target of [0, ...earlier]) await cluster.connect(peer, started[target]?.multiaddrs[0] as string, TIMEOUT_MS)
  }
  const counts = new Map<number, number>()
  cluster.on((e) => { if (e.name === 'entries') counts.set(e.peer, e.count) })
  log(`plain: ${size} connected peers move to a fresh log, each writes once...`)
  const t0 = now()
  const fresh = await cluster.call('openLog', { peer: 0, name: `bench-removal-${size}-${t0}`, anyoneWrites: true, watch: true })
  await cluster.call('watchEntries', { peer: 0, log: fresh.address })
  await cluster.call('add', { peer: 0, log: fresh.address, value: 'moved 0' })
  await Promise.all(Array.from({ length: size - 1 }, async (_, j) => {
    const peer = j + 1
    await cluster.call('openLog', { peer, address: fresh.address, watch: true }, TIMEOUT_MS)
    await cluster.call('watchEntries', { peer, log: fresh.address })
    await cluster.call('add', { peer, log: fresh.address, value: `moved ${peer}` }, TIMEOUT_MS)
  }))
  const holding = (): number => [...counts.values()].filter((n) => n >= size).length
  const done = await cluster.until(() => holding() === size, TIMEOUT_MS - (now() - t0), () => `plain: ${holding()}/${size} hold every entry`)
  if (done) round.plainMs = now() - t0
  else note(round, `plain: ${holding()}/${size} held every entry within the timeout`)
}

/** Runs `play` on a fresh cluster of `size` peers, each in a directory of its own, and clears up after it. */
async function onCluster (size: number, round: Round, play: (cluster: Cluster, dirs: string[]) => Promise<void>): Promise<void> {
  const dirs = await Promise.all(Array.from({ length: size }, async () => await tempDir()))
  let cluster: Cluster | undefined
  try {
    cluster = await Cluster.fork(Math.min(PROCESSES, size))
    await play(cluster, dirs)
  } catch (err) {
    note(round, err instanceof Error ? err.message : String(err))
  } finally {
    for (const n of await cluster?.exit() ?? []) note(round, n)
    await removeDirs(dirs)
  }
}

async function measure (): Promise<Round> {
  const round: Round = { leaked: 0 }
  await onCluster(SIZE, round, async (cluster, dirs) => { await removalRound(cluster, dirs, round) })
  await onCluster(SIZE - 1, round, async (cluster, dirs) => { await plainMoveRound(cluster, dirs, round) })
  if (round.failure !== undefined) log(round.failure)
  return round
}

/** bertybot's time to talk in the new epoch over plain's time to move, of the medians; `-` without both. */
function ratioOf (rounds: Round[]): string {
  const ours = spread(rounds.map((r) => r.talkingMs))
  const plain = spread(rounds.map((r) => r.plainMs))
  return ours === undefined || plain === undefined ? '-' : `${(ours.median / plain.median).toFixed(2)}x`
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
    `  new-epoch messages the removed member (still running) received: ${leaked}`,
    `  baseline, plain @orbitdb/core: the ${SIZE - 1} connected, to a fresh log, each wrote once, all hold all: ${seconds((r) => r.plainMs)}`,
    `  ratio (all sent and read / plain):                            ${ratioOf(rounds)}`
  ]
  if (failures.length > 0) lines.push('failures:', ...failures.map((f) => `  ${f}`))
  return { json: { size: SIZE, processes: PROCESSES, rounds: ROUNDS, results: rounds }, lines }
}
