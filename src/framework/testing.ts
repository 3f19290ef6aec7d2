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
 *
 * Users also react, edit and delete their messages, press the bot's buttons
 * (`alice.press(await alice.nextMessage(), 'Yes')`), and see the bot's
 * reactions, edits and deletions (`nextReaction()`, `nextEdit()`,
 * `nextDeletion()`); a message's `format` and `buttons` come with it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger, createPeer, type LogLevel, type Clock } from '../protocol/index.ts'
import { createBot, type Bot, type BotOptions } from './bot.ts'
import { TestUser } from './test-user.ts'

export { TestUser, type Reachable } from './test-user.ts'

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
      const abort = (): void => {
        // Only a sleeper still waiting: one that woke is gone already, and its signal may abort later.
        const i = this.#sleepers.indexOf(sleeper)
        if (i !== -1) this.#sleepers.splice(i, 1)
        reject(signal.reason)
      }
      const sleeper = { at, resolve: () => { signal.removeEventListener('abort', abort); resolve() } }
      this.#sleepers.push(sleeper)
      signal.addEventListener('abort', abort, { once: true })
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

