/**
 * A benchmark worker: a child process hosting several peers, driven by the
 * parent over IPC (`cluster.ts`), so that many peers spread over a few
 * processes and both cores work. The commands and events are declared in
 * `worker-protocol.ts`; anything else that arrives is refused.
 *
 * Peers are bertybot peers (`createPeer`), plain @orbitdb/core peers (stock
 * sync, no bertybot code), or the echo bot. After `exit` the worker stops
 * its peers and lets go of IPC: only a leaked handle could keep it alive then.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { IPFSAccessController, type Database } from '@orbitdb/core'
import { createBot, type Bot } from 'bertybot'
import { createLogger, createPeer, loggerOptionsFromEnv, type Group, type Peer } from 'bertybot/protocol'
import { setupEchoBot } from '../bots/echo/bot.ts'
import { startPlainOrbitDB, type PlainOrbitDB } from '../test/helpers/plain-orbitdb.ts'
import { now, TEXT } from './shared.ts'
import { commands, request, type Commands, type FromWorker, type Op, type Result, type WorkerEvent } from './worker-protocol.ts'
import { z } from 'zod'

/** How often a watched group's member count is looked at, besides on each `memberJoined`. */
const MEMBERS_POLL_MS = 100

/** Messages answered by an echo (the bot's, or the plain one by hand). */
interface EchoCount { handled: number, lastHandledAt: number | undefined }

type Hosted =
  | { kind: 'bertybot', peer: Peer, firstMessage: string | undefined, watchers: NodeJS.Timeout[] }
  | { kind: 'plain', node: PlainOrbitDB, logs: Map<string, Database>, echo: EchoCount }
  | { kind: 'echo', bot: Bot, echo: EchoCount }

// Warnings only, unless BERTYBOT_LOG_LEVEL / BERTYBOT_LOG_FORMAT say otherwise (to look into a failed run).
const logger = createLogger({ level: 'warn', ...loggerOptionsFromEnv() })
const hosted = new Map<number, Hosted>()
/**
 * The DHT of the peers other than the echo bot (users, group members): off unless BENCH_PEER_DHT=lan.
 * In real use each of them runs on a machine of its own; here a hundred DHTs keeping their routing
 * tables on two shared cores time out each other's connections and starve every process (with it,
 * the echo answered 40-66 of 100 users' first messages within 2 minutes; without, all within 10 s),
 * which measures the machine, not the bot. The echo bot runs its default peer, DHT included.
 */
const PEER_DHT = z.enum(['off', 'lan']).parse(process.env.BENCH_PEER_DHT ?? 'off')
let exiting = false

function send (message: FromWorker): void {
  // Once the parent let go (or went), there is nobody to tell: a late event is dropped.
  if (process.connected !== true) return
  process.send?.(message, undefined, {}, () => {})
}

/**
 * Events wait for the end of the tick and go together: under a burst, a
 * message to the parent for each reply cost the senders' process about 4% of
 * its CPU (serialising, a system call), taken from what is measured.
 */
let pendingEvents: WorkerEvent[] = []

function flushEvents (): void {
  if (pendingEvents.length === 0) return
  const events = pendingEvents
  pendingEvents = []
  send({ type: 'events', events })
}

/** Sends `message` after the events that came before it, so that the parent sees them in order. */
function post (message: FromWorker): void {
  flushEvents()
  send(message)
}

function emit (event: WorkerEvent): void {
  if (pendingEvents.push(event) === 1) setImmediate(flushEvents)
}

function host<K extends Hosted['kind']> (peer: number, kind: K): Extract<Hosted, { kind: K }> {
  const found = hosted.get(peer)
  if (found === undefined) throw new Error(`this worker hosts no peer ${peer}`)
  if (found.kind !== kind) throw new Error(`peer ${peer} is a ${found.kind} peer, not a ${kind} one`)
  return found as Extract<Hosted, { kind: K }>
}

/** The protocol peer of a bertybot peer or of the echo bot. */
function protocolPeer (peer: number): Peer {
  const found = hosted.get(peer)
  if (found?.kind === 'bertybot') return found.peer
  if (found?.kind === 'echo') return found.bot.peer
  throw new Error(`peer ${peer} is not a bertybot peer here`)
}

function group (peer: number, id: string): Group {
  const found = protocolPeer(peer).group(id)
  if (found === undefined) throw new Error(`peer ${peer} is not in group ${id}`)
  return found
}

function plainLog (peer: number, address: string): Database {
  const log = host(peer, 'plain').logs.get(address)
  if (log === undefined) throw new Error(`peer ${peer} has no log ${address} open`)
  return log
}

async function startBertybot (n: number, dataDir: string, displayName: string | undefined): Promise<Hosted> {
  const peer = await createPeer({ dataDir, displayName, logger, dht: PEER_DHT })
  const entry: Hosted = { kind: 'bertybot', peer, firstMessage: undefined, watchers: [] }
  // Listeners go on at once: what a restarted peer catches up is held for the first listener.
  peer.on('message', (m) => {
    emit({ name: 'message', peer: n, group: m.group.id, id: m.id, text: m.text, replyTo: m.replyTo, sender: m.sender.account, at: now() })
  })
  peer.on('memberJoined', (e) => { emit({ name: 'memberJoined', peer: n, group: e.group.id, account: e.member.account, at: now() }) })
  peer.on('contactAccepted', (e) => {
    emit({ name: 'contactAccepted', peer: n, group: e.group.id, account: e.contact.account, at: now() })
    const text = entry.firstMessage
    if (text === undefined) return
    entry.firstMessage = undefined
    const calledAt = now()
    e.group.send({ text }).then(
      (id) => { emit({ name: 'sent', peer: n, group: e.group.id, id, calledAt }) },
      (err: unknown) => { process.stderr.write(`peer ${n}: the first message failed: ${String(err)}\n`) }
    )
  })
  return entry
}

async function startEcho (dataDir: string, displayName: string | undefined): Promise<Hosted> {
  const bot = await createBot({ dataDir, displayName, env: {}, envFile: false, printLink: false, handleSignals: false, logger })
  const echo: EchoCount = { handled: 0, lastHandledAt: undefined }
  setupEchoBot(bot)
  // The echo bot's reply, quoting the message answered, so that each reply is matched to its message.
  bot.use(async (ctx, next) => {
    if (ctx.type !== 'message') { await next(); return }
    await ctx.reply(ctx.text, { quote: true })
    echo.handled++
    echo.lastHandledAt = now()
  })
  await bot.start()
  return { kind: 'echo', bot, echo }
}

async function startPlain (dataDir: string): Promise<Hosted> {
  // Every peer is on 127.0.0.1: gossipsub's penalty for many peers on one address would starve
  // the baseline's mesh past 13 peers. bertybot's node turns it off too (src/protocol/node.ts).
  const node = await startPlainOrbitDB(dataDir, { gossipsub: { scoreParams: { IPColocationFactorWeight: 0 } } })
  return { kind: 'plain', node, logs: new Map(), echo: { handled: 0, lastHandledAt: undefined } }
}

function multiaddrsOf (entry: Hosted): string[] {
  if (entry.kind === 'plain') return entry.node.libp2p.getMultiaddrs().map((a) => a.toString())
  return entry.kind === 'echo' ? entry.bot.peer.multiaddrs : entry.peer.multiaddrs
}

async function stopHosted (entry: Hosted): Promise<void> {
  if (entry.kind === 'bertybot') {
    for (const timer of entry.watchers) clearInterval(timer)
    await entry.peer.stop()
  } else if (entry.kind === 'echo') {
    await entry.bot.stop()
  } else {
    await entry.node.stop()
  }
}

async function stopAll (): Promise<void> {
  const entries = [...hosted.values()]
  hosted.clear()
  const stopped = await Promise.allSettled(entries.map(stopHosted))
  for (const outcome of stopped) if (outcome.status === 'rejected') process.stderr.write(`a peer did not stop cleanly: ${String(outcome.reason)}\n`)
}

async function openPlainLog (n: number, target: string, watch: boolean, anyoneWrites = false): Promise<Database> {
  const entry = host(n, 'plain')
  const log: Database = await entry.node.orbitdb.open(target, anyoneWrites ? { AccessController: IPFSAccessController({ write: ['*'] }) } : {})
  // A database without an `error` listener turns one bad gossip message into a crash (STACK.md).
  log.events.on('error', (err: unknown) => { process.stderr.write(`peer ${n}, log ${log.address}: ${String(err)}\n`) })
  if (watch) {
    log.events.on('update', (e: { hash: string, payload: { value: unknown } }) => {
      emit({ name: 'update', peer: n, log: log.address, hash: e.hash, value: String(e.payload.value), at: now() })
    })
  }
  entry.logs.set(log.address, log)
  return log
}

type Handlers = { [K in Op]: (args: z.output<Commands[K]['args']>) => Promise<Result<K>> }

const handlers: Handlers = {
  start: async ({ peer, kind, dataDir, displayName }) => {
    if (hosted.has(peer)) throw new Error(`peer ${peer} is already running`)
    const start = performance.now()
    const entry = kind === 'bertybot' ? await startBertybot(peer, dataDir, displayName) : kind === 'echo' ? await startEcho(dataDir, displayName) : await startPlain(dataDir)
    const ms = performance.now() - start
    hosted.set(peer, entry)
    const account = entry.kind === 'echo' ? entry.bot.peer.accountId : entry.kind === 'bertybot' ? entry.peer.accountId : undefined
    return { ms, resolvedAt: now(), multiaddrs: multiaddrsOf(entry), accountId: account, contactLink: entry.kind === 'echo' ? entry.bot.contactLink() : undefined }
  },
  stop: async ({ peer }) => {
    const entry = hosted.get(peer)
    hosted.delete(peer)
    if (entry !== undefined) await stopHosted(entry)
    return {}
  },
  exit: async () => {
    exiting = true
    await stopAll()
    // Let go of the IPC channel once this answer is out.
    setImmediate(() => { process.disconnect?.() })
    return {}
  },
  memory: async ({ settleMs }) => {
    await sleep(settleMs)
    globalThis.gc?.()
    const { rss, heapUsed } = process.memoryUsage()
    return { rss, heapUsed }
  },
  cpu: async () => {
    const { user, system } = process.cpuUsage()
    return { cpuMs: (user + system) / 1000 }
  },
  createGroup: async ({ peer, name }) => {
    const created = await host(peer, 'bertybot').peer.createGroup({ name })
    return { group: created.id, invitation: created.invitation() }
  },
  joinGroup: async ({ peer, invitation }) => {
    const calledAt = now()
    const joined = await protocolPeer(peer).joinGroup(invitation)
    return { group: joined.id, calledAt, resolvedAt: now() }
  },
  watchMembers: async ({ peer, group: id }) => {
    const entry = host(peer, 'bertybot')
    const watched = group(peer, id)
    let last = -1
    const look = (): void => {
      const count = watched.members().length
      if (count !== last) { last = count; emit({ name: 'members', peer, group: id, count, at: now() }) }
    }
    entry.peer.on('memberJoined', (e) => { if (e.group.id === id) look() })
    entry.watchers.push(setInterval(look, MEMBERS_POLL_MS))
    look()
    return { count: last }
  },
  removeMember: async ({ peer, group: id, account }) => {
    const calledAt = now()
    await group(peer, id).removeMember(account)
    return { calledAt, resolvedAt: now() }
  },
  watchEpoch: async ({ peer, group: id }) => {
    const watched = group(peer, id)
    let last = `${watched.epoch}:${String(watched.removed)}`
    protocolPeer(peer).on('groupChanged', (e) => {
      if (e.group.id !== id) return
      const seen = `${e.group.epoch}:${String(e.group.removed)}`
      if (seen === last) return
      last = seen
      emit({ name: 'epoch', peer, group: id, epoch: e.group.epoch, removed: e.group.removed, at: now() })
    })
    return { epoch: watched.epoch }
  },
  send: async ({ peer, group: id, text }) => {
    const calledAt = now()
    return { id: await group(peer, id).send({ text }), calledAt }
  },
  sendNumbered: async ({ peer, group: id, count }) => {
    const target = group(peer, id)
    const ids: string[] = []
    const calledAt: number[] = []
    for (let i = 0; i < count; i++) {
      calledAt.push(now())
      ids.push(await target.send({ text: `${i} ${TEXT}` }))
    }
    return { ids, calledAt }
  },
  addContact: async ({ peer, link, firstMessage }) => {
    const entry = host(peer, 'bertybot')
    entry.firstMessage = firstMessage
    const calledAt = now()
    await entry.peer.addContact(link)
    return { calledAt }
  },
  echoStats: async ({ peer }) => {
    const entry = hosted.get(peer)
    if (entry === undefined || entry.kind === 'bertybot') throw new Error(`peer ${peer} is not an echo here`)
    // The echo has its process to itself (`EchoRig`): the process's CPU is the echo's.
    const cpu = process.cpuUsage()
    return { ...entry.echo, cpuMs: (cpu.user + cpu.system) / 1000 }
  },
  dial: async ({ peer, address }) => {
    await host(peer, 'plain').node.libp2p.dial(multiaddr(address))
    return {}
  },
  openLog: async ({ peer, name, address, anyoneWrites, watch }) => {
    const target = address ?? name
    if (target === undefined) throw new Error('openLog needs a name or an address')
    const start = performance.now()
    const log = await openPlainLog(peer, target, watch, anyoneWrites)
    return { address: log.address, ms: performance.now() - start, resolvedAt: now() }
  },
  watchEntries: async ({ peer, log: address }) => {
    const log = plainLog(peer, address)
    // An update event stands for a head: entries fetched behind it come without one, so count them.
    // One count at a time, and one more if updates came meanwhile: the counting stays cheap.
    let last = -1
    let counting = false
    let again = false
    const count = async (): Promise<void> => {
      if (counting) { again = true; return }
      counting = true
      do {
        again = false
        let n = 0
        for await (const _ of log.log.iterator()) n++
        if (n !== last) { last = n; emit({ name: 'entries', peer, log: address, count: n, at: now() }) }
      } while (again)
      counting = false
    }
    log.events.on('update', () => { void count() })
    await count()
    return { count: last }
  },
  add: async ({ peer, log, value }) => {
    const calledAt = now()
    return { hash: await plainLog(peer, log).add(value), calledAt }
  },
  addNumbered: async ({ peer, log, count }) => {
    const target = plainLog(peer, log)
    const hashes: string[] = []
    const calledAt: number[] = []
    for (let i = 0; i < count; i++) {
      calledAt.push(now())
      hashes.push(await target.add(`${i} ${TEXT}`))
    }
    return { hashes, calledAt }
  },
  subscribe: async ({ peer, topic }) => {
    const pubsub = host(peer, 'plain').node.libp2p.services.pubsub
    pubsub.addEventListener('message', (e) => {
      if (e.detail.topic === topic) emit({ name: 'gossip', peer, topic, text: new TextDecoder().decode(e.detail.data), at: now() })
    })
    pubsub.subscribe(topic)
    return {}
  },
  publish: async ({ peer, topic, text }) => {
    const calledAt = now()
    await host(peer, 'plain').node.libp2p.services.pubsub.publish(topic, new TextEncoder().encode(text))
    return { calledAt }
  },
  plainEcho: async ({ peer, userLog, name }) => {
    const entry = host(peer, 'plain')
    const incoming = await openPlainLog(peer, userLog, false)
    const answers = await openPlainLog(peer, name, false)
    incoming.events.on('update', (e: { hash: string }) => {
      answers.add(e.hash).then(
        () => { entry.echo.handled++; entry.echo.lastHandledAt = now() },
        (err: unknown) => { process.stderr.write(`peer ${peer}: an echo failed: ${String(err)}\n`) }
      )
    })
    return { answerLog: answers.address }
  }
}

async function handle<K extends Op> (op: K, raw: unknown): Promise<Result<K>> {
  const args = commands[op].args.parse(raw) as z.output<Commands[K]['args']>
  return await handlers[op](args)
}

process.on('message', (raw) => {
  const parsed = request.safeParse(raw)
  if (!parsed.success) { process.stderr.write(`worker: refused a message that is no request: ${parsed.error.message}\n`); return }
  const { id, op, args } = parsed.data
  handle(op, args).then(
    (result) => { post({ type: 'reply', id, result }) },
    (err: unknown) => { post({ type: 'failed', id, error: err instanceof Error ? err.message : String(err) }) }
  )
})

// The parent went away without saying `exit`: stop the peers and end, rather than linger.
process.on('disconnect', () => {
  if (exiting) return
  void stopAll().finally(() => process.exit(1))
})

post({ type: 'ready' })
