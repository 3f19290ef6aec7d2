/**
 * Runs the echo bot: `npm start` at the repository's root. Its data stays in
 * ./.bertybot-echo unless BERTYBOT_DATA (or .env) says otherwise; talk to it
 * from another terminal with `npm run bertybot -- chat`, then `/add <its link>`.
 */
import { createBot } from 'bertybot'
import { setupEchoBot } from './bot.ts'

const bot = await createBot({ defaults: { dataDir: '.bertybot-echo', displayName: 'echo' } })
setupEchoBot(bot)
await bot.start()
