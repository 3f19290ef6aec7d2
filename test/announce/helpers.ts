/** Starting the announcement bot on a test network, as `index.ts` would from `.env`. */
import type { Bot } from 'bertybot'
import type { ManualClock, TestNetwork, TestUser } from 'bertybot/testing'
import { setupAnnounceBot, type AnnounceBot } from '../../bots/announce/bot.ts'
import type { AnnounceSettings } from '../../bots/announce/settings.ts'

export const INTRO = /^Hello! I send announcements/

export async function startAnnounceBot (network: TestNetwork, options: { admins: TestUser[], clock: ManualClock, dataDir?: string, settings?: Partial<AnnounceSettings>, http?: boolean }): Promise<{ bot: Bot, announce: AnnounceBot }> {
  let announce: AnnounceBot | undefined
  const bot = await network.bot((b) => {
    announce = setupAnnounceBot(b, {
      admins: options.admins.map((a) => a.peer.accountId),
      missed: 'send',
      scheduleFile: undefined,
      feedEveryMs: 15 * 60_000,
      feedTimeoutMs: 5_000,
      bridge: undefined,
      ...options.settings
    })
  }, {
    clock: options.clock,
    timezone: 'UTC',
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(options.http === true ? { http: { host: '127.0.0.1', port: 0 } } : {})
  })
  if (announce === undefined) throw new Error('the announcement bot was not set up')
  return { bot, announce }
}

/** Adds the bot as a contact and reads its greeting. */
export async function meet (user: TestUser, bot: Bot): Promise<void> {
  await user.addContact(bot)
  const greeting = await user.nextReply()
  if (!INTRO.test(greeting)) throw new Error(`${user.name} was greeted with "${greeting}"`)
}

/** Sends a command in the open conversation and resolves with the answer. */
export async function ask (user: TestUser, command: string): Promise<string> {
  await user.send(command)
  return await user.nextReply()
}
