/** What the bot does with a handler's error when `bot.catch()` was not given a handler of its own. */
import type { Context } from './context.ts'
import type { BotError } from './errors.ts'

/** Logs the error, and tells the user of a failed message or button press that something went wrong. */
export async function defaultErrorHandler (error: BotError<Context>): Promise<void> {
  error.ctx.log.error({ err: error.error }, 'a handler failed')
  if (error.ctx.type === 'message' || error.ctx.type === 'buttonPressed') await error.ctx.reply('Sorry, something went wrong while handling that.')
}
