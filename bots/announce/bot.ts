/**
 * The announcement bot: admins schedule announcements, create channels and
 * follow feeds from the chat (or a schedule file); anyone can subscribe. Its
 * setup is a function of its own, so that tests start the same bot on a test
 * network; `index.ts` runs it from `.env`.
 */
import { autoAcceptContacts, type Bot } from 'bertybot'
import { useBridge } from 'bertybot/bridge'
import { isAdmin, notifyAdmins, stateOf, type AnnounceApp } from './app.ts'
import { setupAnnouncementCommands } from './announce-commands.ts'
import { arm } from './announcements.ts'
import { setupAudience } from './audience.ts'
import { setupFeedCommands } from './feed-commands.ts'
import { FeedPoller } from './feeds.ts'
import { loadScheduleFile, ScheduleFileError } from './schedule-file.ts'
import { applyScheduleFile, type SyncResult } from './schedule-sync.ts'
import type { AnnounceSettings } from './settings.ts'

export interface AnnounceBot {
  /**
   * Loads the schedule file again (SIGHUP): applied whole, or refused whole
   * with the line at fault; and the bridge's routes file, if the bridge is on.
   */
  reload: () => Promise<SyncResult | ScheduleFileError | undefined>
}

const INTRO = 'Hello! I send announcements. Send /subscribe to get them here, /help for the rest.'

export function setupAnnounceBot (bot: Bot<unknown>, settings: AnnounceSettings): AnnounceBot {
  const app: AnnounceApp = { bot, settings, log: bot.log }
  const poller = new FeedPoller(app)

  bot.use(autoAcceptContacts())
  setupAudience(bot, app)
  setupAnnouncementCommands(app)
  setupFeedCommands(app, poller)
  // Webhooks into channels: an admin's /bridge add in a channel makes a route to it.
  const bridge = settings.bridge === undefined ? undefined : useBridge(bot, { ...settings.bridge, isAdmin: (account) => isAdmin(app, account) })
  bot.onContactAccepted(async (ctx) => { await ctx.reply(INTRO) })
  // Chat in a channel is for its members; only a 1:1 conversation gets an answer.
  bot.onMessage(async (ctx) => { if (ctx.group.kind === 'contact') await ctx.reply(INTRO) })

  const reloadSchedule = async (): Promise<SyncResult | ScheduleFileError | undefined> => {
    const path = settings.scheduleFile
    if (path === undefined) return undefined
    try {
      const file = await loadScheduleFile(path, { defaultTimezone: bot.config.timezone })
      const result = await applyScheduleFile(app, poller, file)
      app.log.info({ path, ...result }, 'schedule file applied')
      return result
    } catch (err) {
      if (!(err instanceof ScheduleFileError)) throw err
      app.log.error({ path }, `schedule file refused, the schedules in force are unchanged: ${err.message}`)
      await bot.run(async (ctx) => { await notifyAdmins(app, ctx, `The schedule file is refused; the schedules in force are unchanged.\n${err.message}`) })
      return err
    }
  }

  bot.onStart(async () => {
    const announcements = await bot.run(async (ctx) => await stateOf(ctx).announcements())
    for (const a of announcements.values()) arm(app, a)
    await reloadSchedule()
    await poller.start()
  })
  bot.onStop(async () => { await poller.stop() })
  const reload = async (): Promise<SyncResult | ScheduleFileError | undefined> => {
    const refused = await bridge?.reload()
    if (refused !== undefined) await bot.run(async (ctx) => { await notifyAdmins(app, ctx, `The routes file is refused; the routes in force are unchanged.\n${refused.message}`) })
    return await reloadSchedule()
  }
  return { reload }
}
