/** Errors of the bot framework, each with a stable `code`. */
import { BertybotError } from '../protocol/index.ts'
import type { Context } from './context.ts'

/** A handler threw; `ctx` is the context it was handling, `error` what it threw. */
export class BotError extends BertybotError {
  readonly ctx: Context
  readonly error: unknown

  constructor (error: unknown, ctx: Context) {
    super('ERR_BOT_HANDLER', `a ${ctx.type} handler failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    this.ctx = ctx
    this.error = error
  }
}

/** A configuration value is wrong; `variable` names it (an environment variable or an option). */
export class ConfigError extends BertybotError {
  readonly variable: string

  constructor (variable: string, message: string) {
    super('ERR_CONFIG', `${variable}: ${message}`)
    this.variable = variable
  }
}

/** A schedule cannot be set up (bad cron expression or time zone); the message says which part. */
export class ScheduleError extends BertybotError {
  constructor (message: string) {
    super('ERR_SCHEDULE', message)
  }
}

/** A command was registered wrongly (a name taken twice, an invalid name). */
export class CommandDefinitionError extends BertybotError {
  constructor (message: string) {
    super('ERR_COMMAND_DEFINITION', message)
  }
}

/**
 * A transaction read state that another one changed before it committed; it
 * wrote nothing. The bot runs the handlers again when this happens.
 */
export class StateConflictError extends BertybotError {
  readonly key: string

  constructor (key: string) {
    super('ERR_STATE_CONFLICT', `state "${key}" was changed by a concurrent handler`)
    this.key = key
  }
}
