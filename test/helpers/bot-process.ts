/**
 * A bot in a process of its own, started as in production: `node
 * --conditions=bertybot-source <entry> [args]`, configured by its arguments
 * and environment, in a working directory of the test's choosing. Its
 * contact link is read from stdout; stderr is kept, to read its log lines
 * and start-up errors. Every process started here is killed by `cleanUp()`
 * (call it in `afterEach`) and, as a last resort, when the test file ends.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { decodeContactLink, keyToId, type Group, type MessageEvent } from 'bertybot/protocol'
import type { TestUser } from 'bertybot/testing'
import { afterAll } from 'vitest'
import { waitFor } from './wait.ts'

const running = new Set<BotProcess>()
/** Every process started since the last `cleanUp()`, running or not. */
const started: BotProcess[] = []

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface BotProcessOptions {
  cwd: string
  env: Record<string, string>
  /** The script to run (an absolute path). */
  entry: string
  /** Its command-line arguments. */
  args?: string[]
  /** A network namespace to run in (`ip netns exec`), as the tests of the local network make. */
  netns?: string
}

/** The environment for the child: the test's own, without any BERTYBOT_, ANNOUNCE_ or BRIDGE_ variable, plus `env`. */
function childEnvironment (env: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(BERTYBOT_|ANNOUNCE_|BRIDGE_)/.test(name)))
  return { ...inherited, ...env }
}

export class BotProcess {
  readonly child: ChildProcess
  stdout = ''
  stderr = ''
  readonly exited: Promise<Exit>
  #exit: Exit | undefined
  readonly #listeners = new Set<() => void>()

  /** Spawns the bot; `link()` waits for its link. */
  constructor (options: BotProcessOptions) {
    // process.execPath: the Node that runs the tests (the pinned one), not whatever `node` is on the PATH.
    const node = [process.execPath, '--conditions=bertybot-source', options.entry, ...(options.args ?? [])]
    // `ip netns exec` runs it in place (it execs): the child is still the Node process.
    const [command, ...args] = options.netns === undefined ? node : ['ip', 'netns', 'exec', options.netns, ...node]
    this.child = spawn(command as string, args, {
      cwd: options.cwd,
      env: childEnvironment(options.env),
      stdio: ['ignore', 'pipe', 'pipe']
    })
    running.add(this)
    started.push(this)
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { this.stdout += chunk; this.#changed() })
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { this.stderr += chunk; this.#changed() })
    this.exited = new Promise((resolve) => {
      // 'close': the process ended and its output was read to the end.
      this.child.once('close', (code, signal) => {
        running.delete(this)
        this.#exit = { code, signal }
        this.#changed()
        resolve(this.#exit)
      })
    })
  }

  get exit (): Exit | undefined {
    return this.#exit
  }

  #changed (): void {
    for (const listener of this.#listeners) listener()
  }

  /**
   * Waits until `test` gives a value (checked on each output and at exit), or
   * throws; fails with the output so far if neither within `timeoutMs`.
   */
  async until<T> (what: string, test: () => T | undefined, timeoutMs: number): Promise<T> {
    try {
      const outcome = await waitFor<{ value: T } | { error: unknown }>(what, (done) => {
        const check = (): void => {
          try {
            const value = test()
            if (value !== undefined) done({ value })
          } catch (error) {
            done({ error })
          }
        }
        this.#listeners.add(check)
        check()
        return () => { this.#listeners.delete(check) }
      }, timeoutMs)
      if ('error' in outcome) throw outcome.error
      return outcome.value
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- the bot's stderr:\n${this.stderr.slice(-4000)}`)
    }
  }

  /** The log lines (BERTYBOT_LOG_FORMAT=json) on stderr so far. */
  logLines (): Array<{ level: number, msg: string, [key: string]: unknown }> {
    return this.stderr.split('\n').flatMap((line) => {
      if (!line.startsWith('{')) return []
      try {
        return [JSON.parse(line)]
      } catch {
        return []
      }
    })
  }

  /** Waits for the link the bot prints once it runs; fails if the process ends first. */
  async link (timeoutMs = 90_000): Promise<string> {
    return await this.until('the bot to print its contact link', () => {
      const match = /is running\. Its contact link:\n(bertybot:\/\/\S+)\n/.exec(this.stdout)
      if (match?.[1] !== undefined) return match[1]
      if (this.#exit !== undefined) throw new Error(`the bot exited (${this.#exit.code ?? this.#exit.signal}) before it printed its link`)
      return undefined
    }, timeoutMs)
  }

  /** Sends `signal` (the process handles SIGHUP and SIGTERM). */
  signal (signal: NodeJS.Signals): void {
    if (this.#exit === undefined) this.child.kill(signal)
  }

  /** Waits for the process to end by itself, at most `timeoutMs`. */
  async exitWithin (timeoutMs: number): Promise<Exit> {
    return await this.until('the bot process to exit', () => this.#exit, timeoutMs)
  }

  /** `kill -9`, and waits until it is gone. */
  async kill9 (): Promise<Exit> {
    this.signal('SIGKILL')
    return await this.exited
  }
}

/** Kills every bot process still running and waits until they are gone. */
export async function killAll (): Promise<void> {
  await Promise.all([...running].map(async (bot) => await bot.kill9()))
}

/**
 * For `afterEach`: kills the bot processes; if the test failed, prints what
 * each process it started wrote on stderr (its log), which the failure alone
 * does not say.
 */
export async function cleanUp (failed: boolean): Promise<void> {
  await killAll()
  const processes = started.splice(0)
  if (!failed) return
  for (const [index, bot] of processes.entries()) {
    const exit = bot.exit === undefined ? 'running' : `exited ${bot.exit.code ?? bot.exit.signal}`
    console.error(`--- bot process ${index + 1} of ${processes.length} (${exit}), its stderr:\n${bot.stderr.slice(-8000)}`)
  }
}

afterAll(async () => { await cleanUp(false) })

/** The account id a contact link is for. */
export function accountOf (link: string): string {
  return keyToId(decodeContactLink(link).accountKey)
}

/**
 * Adds the bot by its link and waits for its greeting, which must match
 * `intro`, then opens that conversation: the greeting proves that the bot
 * accepted, and that what it sends is readable.
 */
export async function meetBot (user: TestUser, link: string, options: { intro: RegExp, timeoutMs?: number }): Promise<Group> {
  const bot = accountOf(link)
  const greeted = waitFor<MessageEvent>(`${user.name} to be greeted by the bot`, (done) => {
    const listener = (m: MessageEvent): void => { if (m.sender.account === bot) done(m) }
    user.peer.on('message', listener)
    return () => { user.peer.off('message', listener) }
  }, options.timeoutMs ?? 60_000)
  greeted.catch(() => {})
  await user.peer.addContact(link)
  const { group } = await greeted.catch((err: unknown) => {
    const contact = user.peer.contact(bot)
    const state = contact === undefined ? 'no contact' : `contact ${contact.state}, request delivered: ${contact.requestDelivered}, members in the conversation: ${contact.group?.members().length ?? 'no conversation'}`
    throw new Error(`${(err as Error).message} (${state}; connected to ${user.peer.connectedPeers().length} peers)`)
  })
  user.open(group)
  const greeting = await user.nextReply()
  if (!options.intro.test(greeting)) throw new Error(`${user.name} was greeted with "${greeting}"`)
  return group
}

/** Sends `command` in the user's open conversation and waits for the answer. */
export async function ask (user: TestUser, command: string, timeoutMs = 60_000): Promise<string> {
  await user.send(command)
  return await user.nextReply({ timeoutMs })
}
