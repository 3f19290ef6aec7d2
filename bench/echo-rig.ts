/**
 * An echo and the users who talk to it, for the contacts and throughput
 * sections: the echo in a process of its own, the users spread round-robin
 * over BENCH_PROCESSES worker processes.
 *
 * - bertybot: the echo bot (`setupEchoBot`, accepting every contact, each
 *   reply quoting the message it answers). A conversation is a contact: the
 *   user adds the bot's link; the 1:1 group is the conversation.
 * - plain @orbitdb/core, the same done by hand: the user dials the echo's
 *   peer and creates an events log; the echo opens it by address (handed
 *   over by the parent) and creates one log for its answers, which the user
 *   opens; each answer is the hash of the entry it answers.
 *
 * Either way, a reply is known by the message it answers: `replies` maps a
 * message's id (entry hash) to when its reply arrived at the user.
 */
import { Cluster } from './cluster.ts'
import { now, removeDirs, tempDir } from './shared.ts'

export type Side = 'plain' | 'bertybot'

/** The echo's peer number; the users are 1..n. */
export const ECHO = 0
const FIRST_MESSAGE = 'hello, echo'

type Conversation = { side: 'bertybot', group: string } | { side: 'plain', userLog: string, answerLog: string }

/** When each user's conversation was set up, and when its first message came back. */
export interface Conversations {
  startedAt: number
  acceptedAt: Map<number, number>
  repliedAt: Map<number, number>
}

export interface Burst {
  /** When the first message was sent. */
  startedAt: number
  /** Each message sent: when `send()` / `add()` was called, by id. */
  sent: Map<string, number>
}

export class EchoRig {
  readonly side: Side
  readonly cluster: Cluster
  readonly users: number[]
  /** When each message's reply reached its user, by the message's id. */
  readonly replies = new Map<string, number>()
  readonly #dirs: string[]
  readonly #conversations = new Map<number, Conversation>()
  #echoAddress = ''
  #echoLink = ''

  private constructor (side: Side, cluster: Cluster, users: number, dirs: string[]) {
    this.side = side
    this.cluster = cluster
    this.users = Array.from({ length: users }, (_, i) => i + 1)
    this.#dirs = dirs
    cluster.on((e) => {
      if (e.name === 'message' && e.replyTo !== undefined && !this.replies.has(e.replyTo)) this.replies.set(e.replyTo, e.at)
      if (e.name === 'update') {
        const conversation = this.#conversations.get(e.peer)
        if (conversation?.side === 'plain' && conversation.answerLog === e.log && !this.replies.has(e.value)) this.replies.set(e.value, e.at)
      }
    })
  }

  /** Starts the echo and `users` users; nothing is connected yet. */
  static async start (side: Side, users: number, processes: number): Promise<EchoRig> {
    const dirs = await Promise.all(Array.from({ length: users + 1 }, async () => await tempDir()))
    let cluster: Cluster | undefined
    try {
      cluster = await Cluster.fork(Math.min(processes, users))
      const rig = new EchoRig(side, cluster, users, dirs)
      const echoProcess = await cluster.add('echo process')
      const echo = await cluster.start(ECHO, side === 'bertybot' ? 'echo' : 'plain', dirs[ECHO] as string, { on: echoProcess, displayName: 'echo' })
      rig.#echoAddress = echo.multiaddrs[0] ?? ''
      rig.#echoLink = echo.contactLink ?? ''
      await Promise.all(rig.users.map(async (u) => await cluster?.start(u, side === 'bertybot' ? 'bertybot' : 'plain', dirs[u] as string, { displayName: `user ${u}` })))
      return rig
    } catch (err) {
      await cluster?.exit()
      await removeDirs(dirs)
      throw err
    }
  }

  /** The echo's first listen address. */
  get echoAddress (): string {
    return this.#echoAddress
  }

  /**
   * Every user (or each of `users`) at once sets up a conversation with the
   * echo and, once it is set up, sends a first message; resolves when every
   * first message came back, or at `timeoutMs` with what did.
   */
  async converse (timeoutMs: number, users: number[] = this.users): Promise<Conversations> {
    const acceptedAt = new Map<number, number>()
    const firstIds = new Map<string, number>()
    const repliedAt = new Map<number, number>()
    const stopListening = this.cluster.on((e) => {
      if (e.name === 'contactAccepted' && e.peer !== ECHO) { acceptedAt.set(e.peer, e.at); this.#conversations.set(e.peer, { side: 'bertybot', group: e.group }) }
      if (e.name === 'sent') firstIds.set(e.id, e.peer)
    })
    const settle = (): void => {
      for (const [id, user] of firstIds) {
        const at = this.replies.get(id)
        if (at !== undefined) repliedAt.set(user, at)
      }
    }
    const startedAt = now()
    const setUpOne = async (user: number): Promise<void> => {
      if (this.side === 'bertybot') {
        await this.cluster.call('addContact', { peer: user, link: this.#echoLink, firstMessage: FIRST_MESSAGE })
        return
      }
      await this.cluster.connect(user, this.#echoAddress, timeoutMs)
      const { address: userLog } = await this.cluster.call('openLog', { peer: user, name: `bench-user-${user}`, watch: false })
      // Opening a log by address fetches its manifest from the other side, which a busy peer can
      // fail to serve in time (`Failed to load block`): by hand, one tries again.
      const { answerLog } = await this.cluster.retrying(async () => await this.cluster.call('plainEcho', { peer: ECHO, userLog, name: `bench-answers-${user}` }), timeoutMs)
      this.#conversations.set(user, { side: 'plain', userLog, answerLog })
      const opened = await this.cluster.retrying(async () => await this.cluster.call('openLog', { peer: user, address: answerLog, watch: true }), timeoutMs)
      acceptedAt.set(user, opened.resolvedAt)
      const { hash } = await this.cluster.call('add', { peer: user, log: userLog, value: FIRST_MESSAGE })
      firstIds.set(hash, user)
    }
    // A failed set-up is said at once; its user then counts as missing.
    for (const user of users) {
      setUpOne(user).catch((err: unknown) => { process.stderr.write(`  user ${user}: ${err instanceof Error ? err.message : String(err)}\n`) })
    }
    const progress = (): string => `${acceptedAt.size}/${users.length} set up, ${repliedAt.size}/${users.length} first replies after ${((now() - startedAt) / 1000).toFixed(0)} s`
    try {
      await this.cluster.until(() => { settle(); return repliedAt.size === users.length }, timeoutMs, progress)
    } finally {
      stopListening()
    }
    settle()
    return { startedAt, acceptedAt, repliedAt }
  }

  /** Each user (or each of `users`) sends `count` messages back to back, all at once, without waiting for replies. */
  async burst (count: number, users: number[] = this.users): Promise<Burst> {
    const startedAt = now()
    const sent = new Map<string, number>()
    await Promise.all(users.map(async (user) => {
      const conversation = this.#conversations.get(user)
      if (conversation === undefined) throw new Error(`user ${user} has no conversation with the echo`)
      const { ids, calledAt } = conversation.side === 'bertybot'
        ? await this.cluster.call('sendNumbered', { peer: user, group: conversation.group, count })
        : await this.cluster.call('addNumbered', { peer: user, log: conversation.userLog, count }).then((r) => ({ ids: r.hashes, calledAt: r.calledAt }))
      ids.forEach((id, i) => { sent.set(id, calledAt[i] as number) })
    }))
    return { startedAt, sent }
  }

  /** How many messages the echo answered so far, when the last, and the CPU time its process used so far. */
  async echoStats (): Promise<{ handled: number, lastHandledAt?: number, cpuMs: number }> {
    return await this.cluster.call('echoStats', { peer: ECHO })
  }

  /** Every process exits; the directories go. Resolves with notes of processes that crashed or had to be killed. */
  async exit (): Promise<string[]> {
    const notes = await this.cluster.exit()
    await removeDirs(this.#dirs)
    return notes
  }
}
