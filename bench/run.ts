/**
 * `npm run bench`: group messages between two peers on loopback, against the
 * baseline of plain @orbitdb/core events logs (no encryption, stock sync),
 * measured in the same run on the same machine.
 *
 * - Latency: one message at a time, from `send()` / `add()` on the sender to
 *   the receiver's event for it (p50, p95 over SAMPLES, after WARMUP).
 * - Throughput: BURST messages sent back to back; messages per second until
 *   the receiver has them all.
 * - Bot round trip: a user sends to the echo bot and waits for its reply
 *   (p50, p95); bot throughput: BURST messages sent at once, replies per
 *   second until every one came back. Baseline: the same echo done by hand
 *   with two plain @orbitdb/core logs (each side writes its own, reads the other's).
 * - Kinds (`kinds.ts`): a reaction and an edit next to a text message, one
 *   way, interleaved on the same two peers (p50, p95).
 *
 * The machine is shared and noisy: each figure is the median of BENCH_ROUNDS rounds, the baseline
 * and ours alternating, each round on fresh peers.
 *
 * - Fan-out (`fanout.ts`): one announcement to BENCH_CHANNELS channels, and the
 *   memory of an idle bot in that many groups, against plain @orbitdb/core.
 *
 * - Webhooks (`webhooks.ts`): a webhook's latency until a group member has its
 *   message, against plain group messages; webhooks accepted and delivered per second.
 *
 * Scale sections: peers spread over BENCH_PROCESSES worker processes (`worker.ts`, driven over IPC by
 * `cluster.ts`), each measured next to plain @orbitdb/core (stock OrbitDB on Helia and libp2p, no
 * bertybot code) in the same run and the same process layout, with one line per target of the scale
 * issue saying `met` or `NOT met`. Each runs BENCH_ROUNDS rounds on fresh peers and prints the
 * median and the min–max range; a timeout is reported with how far it got, and the section goes on.
 *
 * - Groups (`groups.ts`): groups of BENCH_GROUP_SIZES members: time until all know all, latency of a
 *   message to each other member, summed RSS.
 * - Contacts (`contacts.ts`): BENCH_CONTACT_USERS users add the echo bot at once, each sends a first
 *   message once accepted: time until all accepted, until all answered, per contact.
 * - Throughput (`throughput.ts`): 1 and 10 senders (BENCH_THROUGHPUT_SENDERS) send
 *   BENCH_THROUGHPUT_MESSAGES each to the echo bot: handled and replied per second, round trip.
 * - Catch-up (`catchup.ts`): a reader comes back to BENCH_CATCHUP messages: restart time, time to the
 *   first and to the last, order.
 * - Memory (`memory.ts`): an idle bot in BENCH_MEMORY_SIZES conversations: RSS, per conversation,
 *   and the time to join the first and the last.
 * - Disk (`disk.ts`): bytes on disk per message, of the writer and the reader of BENCH_DISK_MESSAGES.
 *
 * - Files (`files.ts`): a file of BENCH_FILE_SIZES MiB read by a member, fetched from the sender and
 *   from a replica alone, in MB/s; against Helia's plain bitswap transfer of the same bytes.
 *
 * - Unlinkable (`unlinkable.ts`): the bytes padding costs a message (padded next to unpadded), what
 *   sealed links would add, and the one-way latency of an entry published through another member
 *   (the relay path) next to one its writer publishes (direct), on three members' sync.
 *
 * - Removal (`removal.ts`): an admin removes one member of a group of BENCH_REMOVAL_SIZE (a new
 *   epoch): time until every remaining member moved, and until each sent there and read all others.
 *
 * - Web (`web.ts`): `bertybot web` in its own process and its page in headless Chromium: from the
 *   start to the conversations listed, a conversation of BENCH_WEB_MESSAGES opened and scrolled back
 *   five pages; against plain @orbitdb/core opening and reading a log of the same size.
 *
 * Options (environment): BENCH_ROUNDS (3), BENCH_SAMPLES (50), BENCH_WARMUP (5), BENCH_BURST (300),
 * BENCH_CHANNELS (100), BENCH_HOOK_SAMPLES (200), BENCH_HOOK_REQUESTS (2000), BENCH_HOOK_CONCURRENCY (32),
 * BENCH_PROCESSES (4), BENCH_PEER_DHT (off: the DHT of the peers other than the echo bot, `off` or `lan`;
 * see `worker.ts`), BENCH_TIMEOUT (300 s: how long a scale section waits for anything),
 * BENCH_GROUP_SIZES (5,20,50,100), BENCH_GROUP_MESSAGES (20), BENCH_GROUP_TIMEOUT (300 s),
 * BENCH_GROUP_PLAIN_DIALS (4: how many earlier plain peers each plain peer dials, besides the first),
 * BENCH_CONTACT_USERS (200), BENCH_THROUGHPUT_SENDERS (1,10), BENCH_THROUGHPUT_MESSAGES (300 per sender),
 * BENCH_THROUGHPUT_PROCESSES (1: the senders' processes; the echo has one of its own),
 * BENCH_GROUP_SIDES, BENCH_THROUGHPUT_SIDES (plain,bertybot: the sides measured),
 * BENCH_CATCHUP (1000,10000), BENCH_MEMORY_SIZES (10,100,1000), BENCH_MEMORY_USERS (10),
 * BENCH_DISK_MESSAGES (10000),
 * BENCH_WEB_MESSAGES (10000), BENCH_WEB_CONVERSATIONS (20), BERTYBOT_CHROMIUM (/usr/bin/chromium),
 * BENCH_FILE_SIZES (1,10), BENCH_REMOVAL_SIZE (20),
 * BENCH_ONLY=messaging,fanout,webhooks,groups,contacts,throughput,catchup,memory,disk,files,unlinkable,removal,web (sections to run;
 * all by default), BENCH_JSON=1.
 */
import { multiaddr } from '@multiformats/multiaddr'
import type { Database } from '@orbitdb/core'
import type { MessageEvent } from 'bertybot/protocol'
import { createTestNetwork } from 'bertybot/testing'
import { setupEchoBot } from '../bots/echo/bot.ts'
import { botFanOut, CHANNELS, plainFanOut, type FanOutFigures } from './fanout.ts'
import { kindLatencies, KINDS, type Kind, type KindFigures } from './kinds.ts'
import { web } from './web.ts'
import { arrivals, bertybotPair, burst, median, percentile, sampleLatencies, TEXT, withPair, type Pair, type Section } from './shared.ts'
import { startPlainOrbitDB, type PlainOrbitDB } from '../test/helpers/plain-orbitdb.ts'
import { webhooks } from './webhooks.ts'
import { groups } from './groups.ts'
import { contacts } from './contacts.ts'
import { throughput } from './throughput.ts'
import { catchup } from './catchup.ts'
import { memory } from './memory.ts'
import { disk } from './disk.ts'
import { floodSection } from './flood.ts'
import { files } from './files.ts'
import { unlinkable } from './unlinkable.ts'
import { removal } from './removal.ts'

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 50)
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5)
const BURST = Number(process.env.BENCH_BURST ?? 300)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

interface Figures { p50: number, p95: number, throughput: number }

async function measure (pair: Pair): Promise<Figures> {
  const { fromSend } = await sampleLatencies(pair, SAMPLES, WARMUP)
  return { p50: percentile(fromSend, 0.5), p95: percentile(fromSend, 0.95), throughput: await burst(pair, BURST) }
}

async function plainPair (dirs: string[]): Promise<Pair> {
  const a: PlainOrbitDB = await startPlainOrbitDB(dirs[0] as string)
  const b: PlainOrbitDB = await startPlainOrbitDB(dirs[1] as string)
  await b.libp2p.dial(multiaddr(a.libp2p.getMultiaddrs()[0] as never))
  const writer: Database = await a.orbitdb.open('bench-plain-events')
  const reader: Database = await b.orbitdb.open(writer.address)
  const { arrived, received } = arrivals()
  reader.events.on('update', (entry: { hash: string }) => { arrived(entry.hash) })
  // The reader joins the topic asynchronously: wait until the first entry makes it across.
  await received(await writer.add(TEXT))
  return {
    send: async () => await writer.add(TEXT),
    received,
    stop: async () => { await a.stop(); await b.stop() }
  }
}

async function run (name: string, make: (dirs: string[]) => Promise<Pair>): Promise<Figures> {
  return await withPair(make, async (pair) => {
    process.stderr.write(`measuring ${name}...\n`)
    return await measure(pair)
  })
}

/** The echo, by hand, on plain logs: A writes to its log; B, reading it, writes the same to its own; A reads B's. */
async function plainEchoPair (dirs: string[]): Promise<Pair> {
  const a: PlainOrbitDB = await startPlainOrbitDB(dirs[0] as string)
  const b: PlainOrbitDB = await startPlainOrbitDB(dirs[1] as string)
  await b.libp2p.dial(multiaddr(a.libp2p.getMultiaddrs()[0] as never))
  const aOut: Database = await a.orbitdb.open('bench-echo-a')
  const bOut: Database = await b.orbitdb.open('bench-echo-b')
  const bIn: Database = await b.orbitdb.open(aOut.address)
  const aIn: Database = await a.orbitdb.open(bOut.address)
  // B answers each entry it reads with the entry's hash, as the bot's reply quotes the message.
  bIn.events.on('update', (entry: { hash: string }) => { void bOut.add(entry.hash) })
  const { arrived, received } = arrivals()
  aIn.events.on('update', (entry: { payload: { value: string } }) => { arrived(entry.payload.value) })
  await received(await aOut.add(TEXT))
  return {
    send: async () => await aOut.add(TEXT),
    received,
    stop: async () => { await a.stop(); await b.stop() }
  }
}

/** A user and the echo bot, on the framework's test network; replies are matched to messages by `replyTo`. */
async function botEchoPair (): Promise<Pair> {
  const network = await createTestNetwork()
  const bot = await network.bot((b) => {
    setupEchoBot(b)
    // Quote the message answered, so the benchmark can match each reply to its message.
    b.use(async (ctx, next) => { if (ctx.type === 'message') await ctx.reply(ctx.text, { quote: true }); else await next() })
  }, { displayName: 'echo' })
  const user = await network.user('bench')
  await user.addContact(bot)
  const { arrived, received } = arrivals()
  user.peer.on('message', (m: MessageEvent) => { if (m.replyTo !== undefined) arrived(m.replyTo) })
  const send = async (): Promise<string> => await user.send(TEXT)
  await received(await send())
  return { send, received, stop: async () => { await network.stop() } }
}

function medians (rounds: Figures[]): Figures {
  return { p50: median(rounds.map((r) => r.p50)), p95: median(rounds.map((r) => r.p95)), throughput: median(rounds.map((r) => r.throughput)) }
}

async function messaging (): Promise<Section> {
  const rounds: Record<'plain' | 'ours' | 'plainEcho' | 'bot', Figures[]> = { plain: [], ours: [], plainEcho: [], bot: [] }
  const kindRounds: Array<Record<Kind, KindFigures>> = []
  for (let round = 1; round <= ROUNDS; round++) {
    process.stderr.write(`round ${round} of ${ROUNDS}\n`)
    rounds.plain.push(await run('plain @orbitdb/core events log', plainPair))
    rounds.ours.push(await run('bertybot group messages', bertybotPair))
    rounds.plainEcho.push(await run('plain @orbitdb/core echo by hand', plainEchoPair))
    process.stderr.write('measuring the echo bot...\n')
    const botPair = await botEchoPair()
    rounds.bot.push(await measure(botPair).finally(async () => { await botPair.stop() }))
    process.stderr.write('measuring a text, a reaction and an edit, in turn...\n')
    kindRounds.push(await kindLatencies(SAMPLES, WARMUP))
  }
  const kinds = Object.fromEntries(KINDS.map((kind) => [kind, {
    p50: median(kindRounds.map((r) => r[kind].p50)),
    p95: median(kindRounds.map((r) => r[kind].p95))
  }])) as Record<Kind, KindFigures>
  const kindRow = (label: string, f: KindFigures): string => `${label.padEnd(34)}${f.p50.toFixed(1).padStart(9)}${f.p95.toFixed(1).padStart(9)}`
  const kindRatio = (label: string, f: KindFigures): string =>
    `${label.padEnd(34)}${((f.p50 / kinds.text.p50).toFixed(2) + 'x').padStart(9)}${((f.p95 / kinds.text.p95).toFixed(2) + 'x').padStart(9)}`
  const plain = medians(rounds.plain)
  const ours = medians(rounds.ours)
  const plainEcho = medians(rounds.plainEcho)
  const bot = medians(rounds.bot)
  const ratio = { p50: ours.p50 / plain.p50, p95: ours.p95 / plain.p95, throughput: ours.throughput / plain.throughput }
  const botRatio = { p50: bot.p50 / plainEcho.p50, p95: bot.p95 / plainEcho.p95, throughput: bot.throughput / plainEcho.throughput }
  const row = (label: string, f: Figures): string => `${label.padEnd(34)}${f.p50.toFixed(1).padStart(9)}${f.p95.toFixed(1).padStart(9)}${f.throughput.toFixed(0).padStart(14)}`
  const ratioRow = (label: string, r: Figures): string => `${label.padEnd(34)}${(r.p50.toFixed(2) + 'x').padStart(9)}${(r.p95.toFixed(2) + 'x').padStart(9)}${(r.throughput.toFixed(2) + 'x').padStart(14)}`
  return {
    json: { samples: SAMPLES, burst: BURST, plain, bertybot: ours, ratio, plainEcho, bot, botRatio, kinds },
    lines: [
      `two peers on loopback, one process; latency over ${SAMPLES} messages, throughput over a burst of ${BURST}; medians of ${ROUNDS} rounds`,
      `${''.padEnd(34)}${'p50 ms'.padStart(9)}${'p95 ms'.padStart(9)}${'msg/s'.padStart(14)}`,
      row('plain @orbitdb/core (baseline)', plain),
      row('bertybot, end-to-end encrypted', ours),
      ratioRow('ratio (bertybot / baseline)', ratio),
      `targets: latency at most 1.5x the baseline's, throughput at least 1x: ${ratio.p50 <= 1.5 && ratio.throughput >= 1 ? 'met' : 'NOT met'}`,
      '',
      'round trip: a user sends, the bot replies, the user receives',
      `${''.padEnd(34)}${'p50 ms'.padStart(9)}${'p95 ms'.padStart(9)}${'replies/s'.padStart(14)}`,
      row('plain @orbitdb/core echo by hand', plainEcho),
      row('bertybot echo bot (framework)', bot),
      ratioRow('ratio (bot / baseline)', botRatio),
      '',
      `a reaction and an edit next to a text message, one way, in turn on the same two peers (${SAMPLES} of each)`,
      `${''.padEnd(34)}${'p50 ms'.padStart(9)}${'p95 ms'.padStart(9)}`,
      kindRow('text message', kinds.text),
      kindRow('reaction', kinds.reaction),
      kindRow('edit', kinds.edit),
      kindRatio('ratio (reaction / text)', kinds.reaction),
      kindRatio('ratio (edit / text)', kinds.edit)
    ]
  }
}

async function fanOut (): Promise<Section> {
  const plain = await plainFanOut()
  const bot = await botFanOut()
  const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`
  const row = (label: string, f: FanOutFigures): string => `${label.padEnd(34)}${f.ms.toFixed(0).padStart(9)}${f.perSecond.toFixed(0).padStart(14)}${mb(f.idleRss).padStart(14)}`
  return {
    json: { channels: CHANNELS, plain, bot, ratio: { ms: bot.ms / plain.ms, idleRss: bot.idleRss / plain.idleRss } },
    lines: [
      `one announcement to ${CHANNELS} channels (groups), until a reader in all of them has it; then the idle process's resident memory`,
      `${''.padEnd(34)}${'ms'.padStart(9)}${'channels/s'.padStart(14)}${'idle RSS'.padStart(14)}`,
      row(`plain @orbitdb/core, ${CHANNELS} logs`, plain),
      row('bertybot announcement bot', bot),
      `${'ratio (bot / baseline)'.padEnd(34)}${((bot.ms / plain.ms).toFixed(2) + 'x').padStart(9)}${((bot.perSecond / plain.perSecond).toFixed(2) + 'x').padStart(14)}${((bot.idleRss / plain.idleRss).toFixed(2) + 'x').padStart(14)}`
    ]
  }
}

const SECTIONS: Record<string, () => Promise<Section>> = { messaging, fanout: fanOut, webhooks, groups, contacts, throughput, flood: floodSection, catchup, memory, disk, files, unlinkable, removal, web }
const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim())
const unknown = only?.filter((name) => SECTIONS[name] === undefined) ?? []
if (unknown.length > 0) throw new Error(`BENCH_ONLY names no section ${unknown.join(', ')}; there are: ${Object.keys(SECTIONS).join(', ')}`)
const results: Record<string, Section> = {}
for (const [name, section] of Object.entries(SECTIONS)) {
  if (only === undefined || only.includes(name)) {
    try {
      results[name] = await section()
    } catch (err) {
      // One section failing says so and lets the others run.
      const reason = err instanceof Error ? err.message : String(err)
      process.stderr.write(`${name} failed: ${reason}\n`)
      results[name] = { json: { failed: reason }, lines: [`${name}: failed: ${reason}`] }
    }
  }
}
if (process.env.BENCH_JSON === '1') {
  console.log(JSON.stringify(Object.fromEntries(Object.entries(results).map(([name, r]) => [name, r.json]))))
} else {
  console.log(Object.values(results).map((r) => r.lines.join('\n')).join('\n\n'))
}
