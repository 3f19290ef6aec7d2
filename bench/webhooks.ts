/**
 * The webhook bridge, for `npm run bench`: a bot with `useBridge`, a generic
 * route to a group, and the admin in that group as the member who reads. The
 * requests come from the same process, over HTTP on loopback.
 *
 * - Latency: SAMPLES webhooks one at a time, each with a text of its own,
 *   timed until the member's peer emits the message: from sending the POST,
 *   and from its 202. Next to it, measured the same way: plain group messages
 *   between two peers (the messaging section's), from `send()` and from its
 *   resolving; and the same bot sending to the same group through its durable
 *   outbox (`bot.run` with `ctx.send`), from the call and from the commit.
 *   Each figure is the median of ROUNDS rounds, each on fresh peers.
 * - Throughput, in the last round: REQUESTS webhooks, CONCURRENCY in
 *   flight: 202s a second (first send to last 202), then messages a second
 *   until the member has every one, each exactly once (anything lost,
 *   duplicated or not answered 202 fails the run). Next to it: as many plain
 *   group messages sent back to back.
 *
 * Flood control and the rate limit are set out of reach (MESSAGES_PER_MINUTE,
 * REQUESTS_PER_MINUTE): this measures the pipeline, never a digest or a 429.
 *
 * Options (environment): BENCH_HOOK_SAMPLES (200), BENCH_HOOK_REQUESTS (2000),
 * BENCH_HOOK_CONCURRENCY (32), BENCH_ROUNDS (3), BENCH_WARMUP (5).
 */
import { autoAcceptContacts, type Bot } from 'bertybot'
import { useBridge } from 'bertybot/bridge'
import type { MessageEvent } from 'bertybot/protocol'
import { createTestNetwork, type TestNetwork } from 'bertybot/testing'
import { arrivals, bertybotPair, burst, median, percentile, sampleLatencies, TEXT, withPair, type Latencies, type Pair, type Section } from './shared.ts'
import { addRoute, adminWithGroup, bearer } from '../test/webhooks/bridge-helpers.ts'

const SAMPLES = Number(process.env.BENCH_HOOK_SAMPLES ?? 200)
const REQUESTS = Number(process.env.BENCH_HOOK_REQUESTS ?? 2000)
const CONCURRENCY = Number(process.env.BENCH_HOOK_CONCURRENCY ?? 32)
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
/** Far above what the benchmark sends in a minute: flood control never holds a message back. */
const MESSAGES_PER_MINUTE = 1_000_000
/** Likewise for the route's rate limit: no 429. */
const REQUESTS_PER_MINUTE = 1_000_000
/** How long the member may take to have every message of the throughput run. */
const DELIVERY_TIMEOUT_MS = 180_000
/** After the last message arrived, how long to wait for a duplicate. */
const DUPLICATE_GRACE_MS = 3_000

interface Percentiles { p50: number, p95: number }

interface Throughput {
  /** 202s a second, from the first request sent to the last 202. */
  acceptedPerSecond: number
  acceptedMs: number
  /** Messages a second, from the first request sent until the member had the last one. */
  deliveredPerSecond: number
  deliveredMs: number
}

/** The bridge bot, the admin in a group with it, and a generic route to that group. */
interface BridgeRig {
  network: TestNetwork
  bot: Bot
  url: string
  secret: string
  groupId: string
  /** Called with each message the admin's peer emits in the group. */
  onMessage: (listener: (m: MessageEvent) => void) => void
}

async function bridgeRig (): Promise<BridgeRig> {
  const network = await createTestNetwork()
  try {
    const admin = await network.user('admin')
    const bot = await network.bot((b) => {
      b.use(autoAcceptContacts())
      useBridge(b, { isAdmin: (account) => account === admin.peer.accountId, messagesPerMinute: MESSAGES_PER_MINUTE, requestsPerMinute: REQUESTS_PER_MINUTE })
      b.onGroupInvitation(async (ctx) => { if (ctx.sender.account === admin.peer.accountId) await ctx.accept() })
    }, { displayName: 'bridge', http: { host: '127.0.0.1', port: 0 } })
    const { direct, ops } = await adminWithGroup(bot, admin, 'ops')
    const { url, secret } = await addRoute(admin, direct, '/bridge add bench generic --to ops')
    const listeners: Array<(m: MessageEvent) => void> = []
    admin.peer.on('message', (m: MessageEvent) => { if (m.group.id === ops.id) for (const l of listeners) l(m) })
    return { network, bot, url, secret, groupId: ops.id, onMessage: (l) => { listeners.push(l) } }
  } catch (err) {
    await network.stop()
    throw err
  }
}

/** One webhook; resolves with the HTTP status (the body read). */
async function postHook (rig: BridgeRig, text: string): Promise<number> {
  const response = await fetch(rig.url, { method: 'POST', headers: { 'content-type': 'text/plain', ...bearer(rig.secret) }, body: text })
  await response.arrayBuffer()
  return response.status
}

/** Webhooks as a pair: `send` resolves at the 202; the member's message is matched by its text. */
function webhookPair (rig: BridgeRig): Pair {
  const { arrived, received } = arrivals()
  rig.onMessage((m) => { if (m.text.startsWith(`${TEXT} hook `)) arrived(m.text) })
  let n = 0
  return {
    send: async () => {
      const text = `${TEXT} hook ${n++}`
      const status = await postHook(rig, text)
      if (status !== 202) throw new Error(`a webhook was answered ${status}, not 202`)
      return text
    },
    received,
    stop: async () => {}
  }
}

/** The same bot sending to the same group through its outbox: `send` resolves once committed. */
function outboxPair (rig: BridgeRig): Pair {
  const { arrived, received } = arrivals()
  rig.onMessage((m) => { if (m.text.startsWith(`${TEXT} outbox `)) arrived(m.text) })
  let n = 0
  return {
    send: async () => {
      const text = `${TEXT} outbox ${n++}`
      await rig.bot.run(async (ctx) => { await ctx.send(rig.groupId, text) })
      return text
    },
    received,
    stop: async () => {}
  }
}

/** REQUESTS webhooks, CONCURRENCY in flight; fails unless every one was accepted and arrived exactly once. */
async function webhookThroughput (rig: BridgeRig): Promise<Throughput> {
  const texts = Array.from({ length: REQUESTS }, (_, i) => `${TEXT} burst ${i}`)
  const counts = new Map(texts.map((t) => [t, 0]))
  const unexpected: string[] = []
  let delivered = 0
  let allDelivered = (_at: number): void => {}
  const everyone = new Promise<number>((resolve) => { allDelivered = resolve })
  rig.onMessage((m) => {
    const count = counts.get(m.text)
    if (count === undefined) {
      // The latency runs' messages are all in; anything else (a digest) is the bridge's own.
      if (!m.text.startsWith(`${TEXT} hook `) && !m.text.startsWith(`${TEXT} outbox `)) unexpected.push(m.text)
      return
    }
    counts.set(m.text, count + 1)
    if (count === 0 && ++delivered === REQUESTS) allDelivered(performance.now())
  })

  const refused = new Map<string, number>()
  let accepted = 0
  let lastAccepted = 0
  let next = 0
  const start = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < REQUESTS) {
      const text = texts[next++] as string
      let outcome: string
      try {
        const status = await postHook(rig, text)
        outcome = String(status)
      } catch (err) {
        outcome = err instanceof Error ? err.message : String(err)
      }
      if (outcome === '202') {
        accepted++
        lastAccepted = performance.now()
      } else {
        refused.set(outcome, (refused.get(outcome) ?? 0) + 1)
      }
    }
  }))
  if (refused.size > 0) throw new Error(`${REQUESTS - accepted} of ${REQUESTS} webhooks not accepted: ${[...refused].map(([why, n]) => `${n} × ${why}`).join(', ')}`)
  const acceptedMs = lastAccepted - start
  process.stderr.write(`${accepted} accepted in ${acceptedMs.toFixed(0)} ms; waiting for the member to have them all...\n`)

  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`lost: ${REQUESTS - delivered} of ${REQUESTS} accepted webhooks did not reach the member as sent within ${DELIVERY_TIMEOUT_MS / 1000} s`)) }, DELIVERY_TIMEOUT_MS)
  })
  const deliveredMs = await Promise.race([everyone, timeout]).finally(() => { clearTimeout(timer) }) - start
  await new Promise((resolve) => setTimeout(resolve, DUPLICATE_GRACE_MS))
  const duplicated = [...counts.values()].filter((c) => c > 1).length
  if (duplicated > 0) throw new Error(`duplicated: ${duplicated} of ${REQUESTS} webhooks reached the member more than once`)
  if (unexpected.length > 0) throw new Error(`the member got ${unexpected.length} messages nobody sent (flood control's digest?), the first: ${unexpected[0]}`)
  return { acceptedPerSecond: accepted / (acceptedMs / 1000), acceptedMs, deliveredPerSecond: REQUESTS / (deliveredMs / 1000), deliveredMs }
}

/** One round's latencies: plain group messages between two fresh peers, then a fresh bridge bot's outbox and webhooks. */
interface Round { plain: Latencies, outbox: Latencies, hook: Latencies }

/** The median over rounds of each round's p50, and of each round's p95. */
function acrossRounds (rounds: Round[], pick: (round: Round) => number[]): Percentiles {
  return { p50: median(rounds.map((r) => percentile(pick(r), 0.5))), p95: median(rounds.map((r) => percentile(pick(r), 0.95))) }
}

export async function webhooks (): Promise<Section> {
  const rounds: Round[] = []
  let plainPerSecond = 0
  let throughput: Throughput | undefined
  for (let round = 1; round <= ROUNDS; round++) {
    const last = round === ROUNDS
    process.stderr.write(`round ${round} of ${ROUNDS}\n`)
    process.stderr.write(`measuring plain group messages (${SAMPLES} one at a time${last ? `, then ${REQUESTS} back to back` : ''})...\n`)
    const plain = await withPair(bertybotPair, async (pair) => {
      const latencies = await sampleLatencies(pair, SAMPLES, WARMUP)
      if (last) plainPerSecond = await burst(pair, REQUESTS)
      return latencies
    })
    process.stderr.write('setting up the bridge bot, its admin, a group and a route...\n')
    const rig = await bridgeRig()
    try {
      process.stderr.write(`measuring the bot's outbox (${SAMPLES} one at a time)...\n`)
      const outbox = await sampleLatencies(outboxPair(rig), SAMPLES, WARMUP)
      process.stderr.write(`measuring webhooks (${SAMPLES} one at a time)...\n`)
      const hook = await sampleLatencies(webhookPair(rig), SAMPLES, WARMUP)
      rounds.push({ plain, outbox, hook })
      if (last) {
        process.stderr.write(`measuring webhooks (${REQUESTS}, ${CONCURRENCY} in flight)...\n`)
        throughput = await webhookThroughput(rig)
      }
    } finally {
      await rig.network.stop()
    }
  }
  if (throughput === undefined) throw new Error('BENCH_ROUNDS must be at least 1')

  const figures = {
    plain: { fromSend: acrossRounds(rounds, (r) => r.plain.fromSend), fromSent: acrossRounds(rounds, (r) => r.plain.fromSent), perSecond: plainPerSecond },
    outbox: { fromRun: acrossRounds(rounds, (r) => r.outbox.fromSend), fromCommit: acrossRounds(rounds, (r) => r.outbox.fromSent) },
    webhook: { fromPost: acrossRounds(rounds, (r) => r.hook.fromSend), from202: acrossRounds(rounds, (r) => r.hook.fromSent), ...throughput }
  }
  const ratio = {
    p50: figures.webhook.fromPost.p50 / figures.plain.fromSend.p50,
    p95: figures.webhook.fromPost.p95 / figures.plain.fromSend.p95,
    deliveredPerSecond: throughput.deliveredPerSecond / plainPerSecond
  }
  const latencyRow = (label: string, f: Percentiles): string => `${label.padEnd(44)}${f.p50.toFixed(1).padStart(9)}${f.p95.toFixed(1).padStart(9)}`
  const x = (r: number): string => `${r.toFixed(2)}x`
  const rate = (perSecond: number | undefined, ms: number | undefined): string =>
    `${(perSecond === undefined ? '-' : perSecond.toFixed(0)).padStart(12)}${(ms === undefined ? '-' : ms.toFixed(0)).padStart(12)}`
  return {
    json: {
      rounds: ROUNDS,
      samples: SAMPLES,
      warmup: WARMUP,
      requests: REQUESTS,
      concurrency: CONCURRENCY,
      messagesPerMinute: MESSAGES_PER_MINUTE,
      requestsPerMinute: REQUESTS_PER_MINUTE,
      ...figures,
      ratio
    },
    lines: [
      `webhooks: a bridge bot and a member of its group on loopback, one process (the HTTP client too); flood control and the rate limit out of reach (messagesPerMinute and requestsPerMinute ${MESSAGES_PER_MINUTE})`,
      `latency to the member's event, one at a time over ${SAMPLES} messages (after ${WARMUP} warm-up); medians of ${ROUNDS} rounds, each on fresh peers`,
      `${''.padEnd(44)}${'p50 ms'.padStart(9)}${'p95 ms'.padStart(9)}`,
      latencyRow('plain group message, from send() (baseline)', figures.plain.fromSend),
      latencyRow('plain group message, from send() resolved', figures.plain.fromSent),
      latencyRow('bot outbox, from bot.run(ctx.send)', figures.outbox.fromRun),
      latencyRow('bot outbox, from its commit', figures.outbox.fromCommit),
      latencyRow('webhook, from sending the POST', figures.webhook.fromPost),
      latencyRow('webhook, from its 202', figures.webhook.from202),
      `${'ratio (webhook from POST / baseline)'.padEnd(44)}${x(ratio.p50).padStart(9)}${x(ratio.p95).padStart(9)}`,
      '',
      `throughput: ${REQUESTS} messages, each with its own text, in the last round; webhooks ${CONCURRENCY} in flight, every one 202 and at the member exactly once`,
      `${''.padEnd(44)}${'202/s'.padStart(12)}${'ms to 202'.padStart(12)}${'msg/s'.padStart(12)}${'ms to all'.padStart(12)}`,
      `${'plain group messages back to back (baseline)'.padEnd(44)}${rate(undefined, undefined)}${rate(plainPerSecond, REQUESTS / plainPerSecond * 1000)}`,
      `${'webhooks'.padEnd(44)}${rate(throughput.acceptedPerSecond, throughput.acceptedMs)}${rate(throughput.deliveredPerSecond, throughput.deliveredMs)}`,
      `${'ratio (webhooks / baseline)'.padEnd(44)}${rate(undefined, undefined)}${x(ratio.deliveredPerSecond).padStart(12)}${'-'.padStart(12)}`
    ]
  }
}
