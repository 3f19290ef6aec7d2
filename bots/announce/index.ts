/**
 * Runs the announcement bot from the environment and the `.env` of the
 * directory it runs in (see `.env.example`): `npm run announce` runs it in
 * `bots/announce`, so its `.env` and data directory are there. Or the Docker
 * image. SIGHUP reloads the schedule file.
 */
import { ConfigError, ConfigFileError, createBot } from 'bertybot'
import { setupAnnounceBot } from './bot.ts'
import { announceSettings, announceSettingsSchema } from './settings.ts'

try {
  const bot = await createBot({ settings: announceSettingsSchema, defaults: { dataDir: '.bertybot-announce', displayName: 'Announcements' } })
  const announce = setupAnnounceBot(bot, announceSettings(bot.settings))
  const onHangUp = (): void => { void announce.reload().catch((err: unknown) => { bot.log.error({ err }, 'reloading the schedule file failed') }) }
  process.on('SIGHUP', onHangUp)
  bot.onStop(() => { process.off('SIGHUP', onHangUp) })
  await bot.start()
} catch (err) {
  if (!(err instanceof ConfigError) && !(err instanceof ConfigFileError)) throw err
  process.stderr.write(`The announcement bot cannot start: ${err.message}\n`)
  process.exitCode = 1
}
