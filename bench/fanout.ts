/**
 * The announcement bot's fan-out, for `npm run bench`: one announcement to
 * CHANNELS channels (groups), timed from the admin's "Send now" (the bot asks
 * before an `/announce now` to every channel) to the moment a reader who is
 * in every channel has it in all of them. Baseline:
 * plain @orbitdb/core, one writer adding one entry to each of CHANNELS events
 * logs that a second peer replicates, timed until the second peer has all.
 *
 * Then the resident memory of each side, idle, in its own process (see
 * `idle-process.ts`): the bot in its CHANNELS groups, and the plain peer
 * replicating its CHANNELS logs.
 */
import { fork } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import type { Database } from '@orbitdb/core'
import type { MessageEvent } from 'bertybot/protocol'
import { createTestNetwork, type TestNetwork } from 'bertybot/testing'
import { setupAnnounceBot } from '../bots/announce/bot.ts'
import { startPlainOrbitDB, type PlainOrbitDB } from '../test/helpers/plain-orbitdb.ts'
import type { IdleReport, IdleRequest } from './idle-process.ts'

export const CHANNELS = Number(process.env.BENCH_CHANNELS ?? 100)
const TEXT = 'Maintenance tonight from 22:00 to 23:00: the VPN will be down. A message of about a hundred bytes.'

export interface FanOutFigures {
  /** Time until every channel had the message, ms. */
  ms: number
  /** Channels reached per second. */
  perSecond: number
  /** Resident memory of the idle side in its own process, bytes. */
  idleRss: number
}

async function tempDir (): Promise<string> {
  return await mkdtemp(join(tmpdir(), 'bertybot-bench-'))
}

/** Times how long until `count` arrivals happened, after `start` is called. */
function countdown (count: number): { arrived: () => void, done: Promise<void> } {
  let left = count
  let finish = (): void => {}
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`${left} of ${count} channels still lacked the message after 5 minutes`)) }, 300_000)
    finish = () => { clearTimeout(timer); resolve() }
  })
  return { arrived: () => { if (--left === 0) finish() }, done }
}

/** Measures the idle memory of a process started on `request`. */
async function idleRss (request: IdleRequest): Promise<number> {
  const child = fork(new URL('./idle-process.ts', import.meta.url), [JSON.stringify(request)], {
    execArgv: ['--conditions=bertybot-source', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  try {
    const report = await new Promise<IdleReport>((resolve, reject) => {
      child.once('message', (message) => { resolve(message as IdleReport) })
      child.once('exit', (code) => { reject(new Error(`the idle process exited (${code}) before reporting`)) })
    })
    return report.rss
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => { if (child.exitCode === null) child.once('exit', resolve); else resolve(undefined) })
  }
}

export async function plainFanOut (): Promise<FanOutFigures> {
  const [writerDir, readerDir] = [await tempDir(), await tempDir()]
  const writer = await startPlainOrbitDB(writerDir)
  let reader: PlainOrbitDB | undefined = await startPlainOrbitDB(readerDir)
  try {
    await reader.libp2p.dial(multiaddr(writer.libp2p.getMultiaddrs()[0] as never))
    const logs: Database[] = []
    for (let i = 0; i < CHANNELS; i++) logs.push(await writer.orbitdb.open(`bench-fanout-${i}`))
    // The reader replicates every log; a first entry in each shows replication is under way.
    const warm = countdown(CHANNELS)
    const measured = countdown(CHANNELS)
    for (const log of logs) {
      const replica: Database = await reader.orbitdb.open(log.address)
      replica.events.on('update', (entry: { payload: { value: string } }) => { (entry.payload.value === TEXT ? measured : warm).arrived() })
    }
    await Promise.all(logs.map(async (log) => await log.add('warm-up')))
    await warm.done
    process.stderr.write(`plain @orbitdb/core: one entry to ${CHANNELS} logs...\n`)
    const start = performance.now()
    await Promise.all(logs.map(async (log) => await log.add(TEXT)))
    await measured.done
    const ms = performance.now() - start
    // Idle memory: the reader again, in a process of its own, replicating the same logs.
    await reader.stop()
    reader = undefined
    const rss = await idleRss({ kind: 'plain', dataDir: readerDir, dial: writer.libp2p.getMultiaddrs()[0]?.toString() ?? '', addresses: logs.map((l) => l.address) })
    return { ms, perSecond: CHANNELS / (ms / 1000), idleRss: rss }
  } finally {
    await reader?.stop()
    await writer.stop()
    await Promise.all([writerDir, readerDir].map(async (d) => { await rm(d, { recursive: true, force: true }) }))
  }
}

export async function botFanOut (): Promise<FanOutFigures> {
  const botDir = await tempDir()
  let network: TestNetwork | undefined
  try {
    network = await createTestNetwork()
    const admin = await network.user('admin')
    const settings = { admins: [admin.peer.accountId], missed: 'send' as const, scheduleFile: undefined, feedEveryMs: 15 * 60_000, feedTimeoutMs: 20_000, bridge: undefined }
    const bot = await network.bot((b) => { setupAnnounceBot(b, settings) }, { dataDir: botDir, displayName: 'Announcements' })
    const contact = await admin.addContact(bot)
    await admin.nextReply()
    // The admin makes CHANNELS groups and invites the bot to each: each becomes a channel.
    process.stderr.write(`setting up ${CHANNELS} channels...\n`)
    const channels = new Set<string>()
    for (let i = 0; i < CHANNELS; i++) {
      const group = await admin.createGroup(`channel ${i}`)
      channels.add(group.id)
      await admin.invite(group, bot)
      admin.open(contact)
      const joined = await admin.nextReply()
      if (!joined.startsWith('I joined')) throw new Error(`the bot answered an invitation with "${joined}"`)
    }
    await admin.send('/channels')
    const listed = await admin.nextReply()
    if (!listed.includes(`Subscribers: 0`) || (listed.match(/: 1 member/g) ?? []).length !== CHANNELS) throw new Error(`the bot does not list ${CHANNELS} channels:\n${listed}`)

    const measured = countdown(CHANNELS)
    admin.peer.on('message', (m: MessageEvent) => {
      if (m.text === TEXT && channels.delete(m.group.id)) measured.arrived()
    })
    process.stderr.write(`bertybot: /announce now to ${CHANNELS} channels...\n`)
    let start = performance.now()
    await admin.send(`/announce now ${TEXT}`)
    if (CHANNELS >= 2) {
      // The bot asks before an announcement to every channel: timed from the answer.
      const question = await admin.nextMessage()
      start = performance.now()
      await admin.press(question, 'Send now')
    }
    await measured.done
    const ms = performance.now() - start
    await bot.stop()
    const rss = await idleRss({ kind: 'bot', dataDir: botDir, admin: admin.peer.accountId, groups: CHANNELS + 1 })
    return { ms, perSecond: CHANNELS / (ms / 1000), idleRss: rss }
  } finally {
    await network?.stop()
    await rm(botDir, { recursive: true, force: true })
  }
}
