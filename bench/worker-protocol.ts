/**
 * What the benchmark's parent process and its workers (`worker.ts`) say to
 * each other over IPC: one schema per command (its arguments and its
 * result) and one per event, checked on arrival at both ends.
 *
 * A worker hosts peers, each known by a number the parent gives it: a
 * bertybot peer (`createPeer`), a plain @orbitdb/core peer, or the echo bot
 * (`createBot` with the echo bot's setup). Times are epoch milliseconds
 * (`performance.timeOrigin + performance.now()`), comparable between
 * processes on one machine.
 */
import { z } from 'zod'

const peer = z.number().int().nonnegative()
const time = z.number()

export const peerKind = z.enum(['bertybot', 'plain', 'echo'])
export type PeerKind = z.infer<typeof peerKind>

/** Each command: the schema of its arguments, and of its result. */
export const commands = {
  /** Starts a peer on `dataDir`; `ms` is how long its start (createPeer, the bot's start, the plain node) took. */
  start: {
    args: z.object({ peer, kind: peerKind, dataDir: z.string(), displayName: z.string().optional() }),
    result: z.object({ ms: z.number(), resolvedAt: time, multiaddrs: z.array(z.string()), accountId: z.string().optional(), contactLink: z.string().optional() })
  },
  stop: { args: z.object({ peer }), result: z.object({}) },
  /** Stops every peer still running, answers, then lets go of IPC: the process must end on its own. */
  exit: { args: z.object({}), result: z.object({}) },
  /** The process's memory, after waiting `settleMs` and a garbage collection. */
  memory: { args: z.object({ settleMs: z.number().nonnegative() }), result: z.object({ rss: z.number(), heapUsed: z.number() }) },
  /** The CPU time (user and system) the process has spent so far, ms. */
  cpu: { args: z.object({}), result: z.object({ cpuMs: z.number() }) },

  // bertybot peers (and the echo bot, for joinGroup)
  createGroup: { args: z.object({ peer, name: z.string() }), result: z.object({ group: z.string(), invitation: z.string() }) },
  joinGroup: { args: z.object({ peer, invitation: z.string() }), result: z.object({ group: z.string(), calledAt: time, resolvedAt: time }) },
  /** Reports a `members` event each time the number of members the peer sees in the group changes. */
  watchMembers: { args: z.object({ peer, group: z.string() }), result: z.object({ count: z.number() }) },
  send: { args: z.object({ peer, group: z.string(), text: z.string() }), result: z.object({ id: z.string(), calledAt: time }) },
  /** Sends `${i} ${TEXT}` for i in 0..count-1, back to back (each send awaited, no reply awaited). */
  sendNumbered: {
    args: z.object({ peer, group: z.string(), count: z.number().int().nonnegative() }),
    result: z.object({ ids: z.array(z.string()), calledAt: z.array(time) })
  },
  /** An admin removes a member (its account id); resolves once the group moved to the new epoch. */
  removeMember: { args: z.object({ peer, group: z.string(), account: z.string() }), result: z.object({ calledAt: time, resolvedAt: time }) },
  /** Reports an `epoch` event each time the group's epoch (or this peer's being removed) changes. */
  watchEpoch: { args: z.object({ peer, group: z.string() }), result: z.object({ epoch: z.string() }) },
  /** Asks for a contact; with `firstMessage`, sends it in the contact group as soon as `contactAccepted` fires (a `sent` event). */
  addContact: { args: z.object({ peer, link: z.string(), firstMessage: z.string().optional() }), result: z.object({ calledAt: time }) },
  /** How many messages the echo bot (or the plain echo) answered since it started, and when it answered the last. */
  echoStats: { args: z.object({ peer }), result: z.object({ handled: z.number(), lastHandledAt: time.optional(), cpuMs: z.number() }) },

  // plain @orbitdb/core peers
  dial: { args: z.object({ peer, address: z.string() }), result: z.object({}) },
  /**
   * Creates an events log by `name` (that only this peer may write, or with `anyoneWrites` any peer),
   * or opens one by `address`; with `watch`, reports its `update` events.
   */
  openLog: {
    args: z.object({ peer, name: z.string().optional(), address: z.string().optional(), anyoneWrites: z.boolean().optional(), watch: z.boolean() }),
    result: z.object({ address: z.string(), ms: z.number(), resolvedAt: time })
  },
  /** Reports an `entries` event each time the number of entries the peer holds in the log changes. */
  watchEntries: { args: z.object({ peer, log: z.string() }), result: z.object({ count: z.number() }) },
  add: { args: z.object({ peer, log: z.string(), value: z.string() }), result: z.object({ hash: z.string(), calledAt: time }) },
  /** Adds `${i} ${TEXT}` for i in 0..count-1, back to back. */
  addNumbered: {
    args: z.object({ peer, log: z.string(), count: z.number().int().nonnegative() }),
    result: z.object({ hashes: z.array(z.string()), calledAt: z.array(time) })
  },
  /** Subscribes to a gossipsub topic of its own (none of OrbitDB's), reporting each `gossip` message: plain gossip, without OrbitDB. */
  subscribe: { args: z.object({ peer, topic: z.string() }), result: z.object({}) },
  publish: { args: z.object({ peer, topic: z.string(), text: z.string() }), result: z.object({ calledAt: time }) },
  /**
   * The echo by hand: opens the user's log `userLog`, creates the answer log `name`,
   * and answers each entry of the user's with that entry's hash.
   */
  plainEcho: { args: z.object({ peer, userLog: z.string(), name: z.string() }), result: z.object({ answerLog: z.string() }) }
} as const

export type Commands = typeof commands
export type Op = keyof Commands
export type Args<K extends Op> = z.input<Commands[K]['args']>
export type Result<K extends Op> = z.output<Commands[K]['result']>

export const request = z.object({ id: z.number().int(), op: z.enum(Object.keys(commands) as [Op, ...Op[]]), args: z.unknown() })
export type Request = z.infer<typeof request>

export const workerEvent = z.discriminatedUnion('name', [
  z.object({ name: z.literal('message'), peer, group: z.string(), id: z.string(), text: z.string(), replyTo: z.string().optional(), sender: z.string(), at: time }),
  z.object({ name: z.literal('memberJoined'), peer, group: z.string(), account: z.string(), at: time }),
  z.object({ name: z.literal('contactAccepted'), peer, group: z.string(), account: z.string(), at: time }),
  z.object({ name: z.literal('members'), peer, group: z.string(), count: z.number(), at: time }),
  z.object({ name: z.literal('epoch'), peer, group: z.string(), epoch: z.string(), removed: z.boolean(), at: time }),
  z.object({ name: z.literal('sent'), peer, group: z.string(), id: z.string(), calledAt: time }),
  z.object({ name: z.literal('entries'), peer, log: z.string(), count: z.number(), at: time }),
  z.object({ name: z.literal('gossip'), peer, topic: z.string(), text: z.string(), at: time }),
  z.object({ name: z.literal('update'), peer, log: z.string(), hash: z.string(), value: z.string(), at: time })
])
export type WorkerEvent = z.infer<typeof workerEvent>

export const fromWorker = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('reply'), id: z.number().int(), result: z.unknown() }),
  z.object({ type: z.literal('failed'), id: z.number().int(), error: z.string() }),
  /** Events in the order they happened, sent together: one message a tick rather than one an event. */
  z.object({ type: z.literal('events'), events: z.array(workerEvent).min(1) })
])
export type FromWorker = z.infer<typeof fromWorker>
