/**
 * A process that sits idle in many conversations, for the memory figure of
 * `npm run bench`: the announcement bot on a data directory where it is in
 * many groups, or a plain @orbitdb/core peer replicating as many logs. Once
 * everything is open and has settled, it reports its resident memory over
 * IPC, then waits to be stopped (SIGTERM).
 * Argument: JSON of an IdleRequest.
 */
import { setTimeout as settle } from 'node:timers/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { createBot } from 'bertybot'
import { createLogger } from 'bertybot/protocol'
import { setupAnnounceBot } from '../bots/announce/bot.ts'
import { startPlainOrbitDB } from '../test/helpers/plain-orbitdb.ts'

export type IdleRequest =
  | { kind: 'bot', dataDir: string, admin: string, groups: number }
  | { kind: 'plain', dataDir: string, dial: string, addresses: string[] }

export interface IdleReport { rss: number, heapUsed: number }

/** How long the process idles before it is measured: start-up work (syncs, dials) is over by then. */
const SETTLE_MS = 10_000

async function main (request: IdleRequest): Promise<() => Promise<void>> {
  if (request.kind === 'plain') {
    const peer = await startPlainOrbitDB(request.dataDir)
    await peer.libp2p.dial(multiaddr(request.dial))
    for (const address of request.addresses) await peer.orbitdb.open(address)
    return peer.stop
  }
  const bot = await createBot({ dataDir: request.dataDir, env: {}, envFile: false, printLink: false, handleSignals: false, logger: createLogger({ level: 'warn' }) })
  setupAnnounceBot(bot, { admins: [request.admin], missed: 'send', scheduleFile: undefined, feedEveryMs: 15 * 60_000, feedTimeoutMs: 20_000, bridge: undefined })
  await bot.start()
  const groups = bot.peer.groups().length
  if (groups < request.groups) throw new Error(`the bot is in ${groups} groups, not ${request.groups}`)
  return async () => { await bot.stop() }
}

const stop = await main(JSON.parse(process.argv[2] ?? '{}') as IdleRequest)
await settle(SETTLE_MS)
globalThis.gc?.()
const { rss, heapUsed } = process.memoryUsage()
process.send?.({ rss, heapUsed } satisfies IdleReport)
process.once('SIGTERM', () => { void stop().finally(() => process.exit(0)) })
