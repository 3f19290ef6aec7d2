/**
 * The announcement bot in a process of its own, started as in production:
 * `node --conditions=bertybot-source bots/announce/index.ts`, configured by
 * its environment only, in a working directory of the test's choosing. The
 * process itself is a `BotProcess` (../helpers/bot-process.ts): its contact
 * link read from stdout, its stderr kept, every process killed by
 * `cleanUp()` (call it in `afterEach`) and when the test file ends.
 */
import { fileURLToPath } from 'node:url'
import type { Group } from 'bertybot/protocol'
import type { TestUser } from 'bertybot/testing'
import { BotProcess, meetBot as meetBotProcess, type BotProcessOptions } from '../helpers/bot-process.ts'
import { INTRO } from './helpers.ts'

export { accountOf, ask, cleanUp, killAll, type Exit } from '../helpers/bot-process.ts'

const ENTRY = fileURLToPath(new URL('../../bots/announce/index.ts', import.meta.url))

export type AnnounceProcessOptions = Omit<BotProcessOptions, 'entry'> & { entry?: string }

/** The announcement bot's process (another entry point with `entry` and `args`). */
export class AnnounceProcess extends BotProcess {
  /** Spawns the bot; see {@link startAnnounceProcess} to wait for its link too. */
  constructor (options: AnnounceProcessOptions) {
    super({ ...options, entry: options.entry ?? ENTRY })
  }
}

/** Starts the bot and waits for its contact link. */
export async function startAnnounceProcess (options: AnnounceProcessOptions): Promise<{ bot: AnnounceProcess, link: string }> {
  const bot = new AnnounceProcess(options)
  return { bot, link: await bot.link() }
}

/** The announcement bot's environment for a test: loopback only, quiet JSON logs, UTC. */
export function botEnvironment (dataDir: string, settings: Record<string, string>): Record<string, string> {
  return {
    BERTYBOT_DATA: dataDir,
    BERTYBOT_LISTEN: '/ip4/127.0.0.1/tcp/0',
    BERTYBOT_TIMEZONE: 'UTC',
    BERTYBOT_LOG_LEVEL: 'error',
    BERTYBOT_LOG_FORMAT: 'json',
    ...settings
  }
}

/**
 * Adds the bot by its link and waits for its greeting (the announcement
 * bot's), then opens that conversation: the greeting proves that the bot
 * accepted, and that what it sends is readable.
 */
export async function meetBot (user: TestUser, link: string, timeoutMs = 60_000): Promise<Group> {
  return await meetBotProcess(user, link, { intro: INTRO, timeoutMs })
}
