/**
 * `bertybot/testing`: test a bot on a real network, in process: real peers
 * on 127.0.0.1 with temporary data directories, and simulated people who add
 * the bot, write to it, and wait for its replies. Nothing is mocked.
 *
 * ```ts
 * import { createTestNetwork } from 'bertybot/testing'
 *
 * const network = await createTestNetwork()
 * const bot = await network.bot((bot) => { bot.use(autoAcceptContacts()); bot.onMessage((ctx) => ctx.reply(ctx.text)) })
 * const alice = await network.user('alice')
 * await alice.addContact(bot)
 * await alice.send('hello')
 * expect(await alice.nextReply()).toBe('hello')
 * await network.stop()
 * ```
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger, createPeer, type ContactAcceptedEvent, type Group, type LogLevel, type MemberJoinedEvent, type MessageEvent, type Peer, type SendFileOptions, type Clock } from '../protocol/index.ts'
import { createBot, type Bot, type BotOptions } from './bot.ts'

const DEFAULT_TIMEOUT_MS = 30_000

/** A clock that moves only when told: schedules fire as `advance()` passes their time. */
export class ManualClock implements Clock {
  #now: number
  readonly #sleepers: Array<{ at: number, resolve: () => void }> = []

  constructor (start: Date | number = Date.now()) {
    this.#now = typeof start === 'number' ? start : start.getTime()
  }

  now (): number {
    return this.#now
  }

  async sleepUntil (at: number, signal: AbortSignal): Promise<void> {
    if (at <= this.#now) return
    signal.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const sleeper = { at, resolve }
      this.#sleepers.push(sleeper)
      signal.addEventListener('abort', () => {
        this.#sleepers.splice(this.#sleepers.indexOf(sleeper), 1)
        reject(signal.reason)
      }, { once: true })
    })
  }

  /** Moves time on by `ms`, waking what sleeps on the way, in order, and letting it run. */
  async advance (ms: number): Promise<void> {
    await this.set(this.#now + ms)
  }

  async set (time: Date | number): Promise<void> {
    const target = typeof time === 'number' ? time : time.getTime()
    for (;;) {
      this.#sleepers.sort((a, b) => a.at - b.at)
      const next = this.#sleepers[0]
      if (next === undefined || next.at > target) break
      this.#sleepers.shift()
      this.#now = Math.max(this.#now, next.at)
      next.resolve()
      // Let the sleeper run (and go back to sleep) before moving on.
      await new Promise((resolve) => setImmediate(resolve))
    }
    this.#now = Math.max(this.#now, target)
  }
}

export interface TestNetworkOptions {
  /** Log level of the peers and bots: 'warn' by default, so tests stay quiet. */
  logLevel?: LogLevel
}

export interface TestNetwork {
  /** Starts a bot, set up by `setup`, with a temporary data directory; `options` override the test defaults. */
  bot: (setup?: (bot: Bot) => void | Promise<void>, options?: BotOptions) => Promise<Bot>
  /** A simulated person with a peer of their own. */
  user: (name: string) => Promise<TestUser>
  /** A fresh temporary directory, removed by `stop()`. */
  tempDir: (label?: string) => Promise<string>
  /** Stops every bot and user, and removes their directories. */
  stop: () => Promise<void>
}

export async function createTestNetwork (options: TestNetworkOptions = {}): Promise<TestNetwork> {
  const logger = createLogger({ level: options.logLevel ?? 'warn' })
  const dirs: string[] = []
  const bots: Bot[] = []
  const users: TestUser[] = []
  const tempDir = async (label = 'test'): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), `bertybot-${label}-`))
    dirs.push(dir)
    return dir
  }
  return {
    tempDir,
    bot: async (setup, botOptions = {}) => {
      const bot = await createBot({ dataDir: await tempDir('bot'), env: {}, envFile: false, logger, printLink: false, handleSignals: false, ...botOptions })
      await setup?.(bot)
      await bot.start()
      bots.push(bot)
      return bot
    },
    user: async (name) => {
      const peer = await createPeer({ dataDir: await tempDir(name), displayName: name, logger })
      const user = new TestUser(name, peer)
      users.push(user)
      return user
    },
    stop: async () => {
      await Promise.allSettled([...bots.map(async (b) => { await b.stop() }), ...users.map(async (u) => { await u.peer.stop() })])
      await Promise.all(dirs.map(async (dir) => { await rm(dir, { recursive: true, force: true }) }))
    }
  }
}

/** Something a user can talk to: a bot, another user, or a contact link. */
export type Reachable = Bot | TestUser | string

function linkOf (target: Reachable): string {
  return typeof target === 'string' ? target : target instanceof TestUser ? target.peer.contactLink() : target.contactLink()
}

function accountOf (target: Bot | TestUser): string {
  return target instanceof TestUser ? target.peer.accountId : target.peer.accountId
}

/** A simulated person: a real peer, driven the way a chat user would. */
export class TestUser {
  readonly name: string
  readonly peer: Peer
  /** Where `send()` writes and `nextReply()` reads: the last conversation opened or joined. */
  conversation: Group | undefined
  readonly #inbox: MessageEvent[] = []
  readonly #waiters = new Set<() => void>()

  constructor (name: string, peer: Peer) {
    this.name = name
    this.peer = peer
    peer.on('message', (m) => {
      this.#inbox.push(m)
      for (const wake of this.#waiters) wake()
    })
  }

  /** Asks `target` to be a contact and waits until it accepted; opens the contact conversation. */
  async addContact (target: Reachable, options: { message?: string, timeoutMs?: number } = {}): Promise<Group> {
    const accepted = this.#waitFor<ContactAcceptedEvent>('contactAccepted', (e) => typeof target === 'string' || e.contact.account === accountOf(target), options.timeoutMs)
    await this.peer.addContact(linkOf(target), options.message === undefined ? {} : { message: options.message })
    const { group } = await accepted
    this.conversation = group
    return group
  }

  /** Opens a conversation: `send()` and `nextReply()` use it from now on. */
  open (group: Group): void {
    this.conversation = group
  }

  /** Creates a group and opens it. */
  async createGroup (name: string): Promise<Group> {
    this.conversation = await this.peer.createGroup({ name })
    return this.conversation
  }

  /**
   * Brings someone into `group` and waits until they are in: another user
   * joins by the invitation; a bot (or user) that is a contact gets the
   * invitation in their 1:1 conversation and has to accept it.
   */
  async invite (group: Group, member: Bot | TestUser, options: { timeoutMs?: number } = {}): Promise<void> {
    const account = accountOf(member)
    const joined = this.#waitFor<MemberJoinedEvent>('memberJoined', (e) => e.group.id === group.id && e.member.account === account, options.timeoutMs)
    if (member instanceof TestUser && this.peer.contact(account)?.state !== 'accepted') {
      await member.peer.joinGroup(group.invitation())
    } else {
      const contactGroup = this.peer.contact(account)?.group
      if (contactGroup === undefined) throw new Error(`${this.name} has no contact ${account} to invite`)
      await contactGroup.sendInvitation(group.invitation())
    }
    await joined
  }

  /** Sends a line to the open conversation; resolves with its message id. */
  async send (text: string): Promise<string> {
    if (this.conversation === undefined) throw new Error(`${this.name} has no conversation open: addContact(), createGroup() or open() first`)
    return await this.conversation.send({ text })
  }

  /** Sends a file (its bytes) to the open conversation, with a text if given; resolves with its message id. */
  async sendFile (bytes: Uint8Array, options: SendFileOptions): Promise<string> {
    if (this.conversation === undefined) throw new Error(`${this.name} has no conversation open: addContact(), createGroup() or open() first`)
    return await this.conversation.sendFile(bytes, options)
  }

  /** The next message from someone else in the open conversation (waits for it); consumed once read. */
  async nextMessage (options: { timeoutMs?: number } = {}): Promise<MessageEvent> {
    const group = this.conversation
    if (group === undefined) throw new Error(`${this.name} has no conversation open`)
    const take = (): MessageEvent | undefined => {
      const i = this.#inbox.findIndex((m) => m.group.id === group.id)
      return i === -1 ? undefined : this.#inbox.splice(i, 1)[0]
    }
    const ready = take()
    if (ready !== undefined) return ready
    return await new Promise<MessageEvent>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check)
        reject(new Error(`${this.name} got no message in "${group.name}" within ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`))
      }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS)
      const check = (): void => {
        const m = take()
        if (m === undefined) return
        clearTimeout(timer)
        this.#waiters.delete(check)
        resolve(m)
      }
      this.#waiters.add(check)
    })
  }

  /** The text of the next message in the open conversation. */
  async nextReply (options: { timeoutMs?: number } = {}): Promise<string> {
    return (await this.nextMessage(options)).text
  }

  async #waitFor<E> (name: 'contactAccepted' | 'memberJoined', predicate: (event: E) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<E> {
    return await new Promise<E>((resolve, reject) => {
      const listener = (event: E): void => {
        if (!predicate(event)) return
        clearTimeout(timer)
        this.peer.off(name, listener as never)
        resolve(event)
      }
      const timer = setTimeout(() => {
        this.peer.off(name, listener as never)
        reject(new Error(`${this.name}: no ${name} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.peer.on(name, listener as never)
    })
  }
}
