/** Errors of the bot framework, each with a stable `code`. */
import { BertybotError } from '../protocol/index.ts'

/**
 * A handler threw; `ctx` is the context it was handling, `error` what it
 * threw. Generic over the context, as grammY's `BotError` is, so that this
 * module needs nothing of the contexts (the bot gives `BotError<Context>`).
 */
export class BotError<C extends { readonly type: string } = { readonly type: string }> extends BertybotError {
  readonly ctx: C
  readonly error: unknown

  constructor (error: unknown, ctx: C) {
    super('ERR_BOT_HANDLER', `a ${ctx.type} handler failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    this.ctx = ctx
    this.error = error
  }
}

/** A configuration value is wrong; `variable` names it (an environment variable or an option). */
export class ConfigError extends BertybotError {
  /** The (first) bad variable. */
  readonly variable: string
  /** Every bad variable with what is wrong with it, the first being `variable`: one start names them all. */
  readonly problems: ReadonlyArray<{ readonly variable: string, readonly message: string }>

  constructor (variable: string, message: string, more: Array<{ variable: string, message: string }> = []) {
    const problems = [{ variable, message }, ...more]
    super('ERR_CONFIG', problems.map((p) => `${p.variable}: ${p.message}`).join('; '))
    this.variable = variable
    this.problems = problems
  }

  /** One error for several problems (at least one). */
  static of (problems: Array<{ variable: string, message: string }>): ConfigError {
    const [first, ...rest] = problems
    if (first === undefined) throw new TypeError('ConfigError.of needs a problem')
    return new ConfigError(first.variable, first.message, rest)
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

/** A bot was started or stopped out of turn (`start()` twice, or after `stop()`). */
export class LifecycleError extends BertybotError {
  constructor (message: string) {
    super('ERR_BOT_LIFECYCLE', message)
  }
}

/** A middleware broke the chain's rules (it called `next()` twice). */
export class MiddlewareError extends BertybotError {
  constructor (message: string) {
    super('ERR_MIDDLEWARE', message)
  }
}

/** A transaction was used after it was committed. */
export class TransactionError extends BertybotError {
  constructor (message: string) {
    super('ERR_TRANSACTION', message)
  }
}

/** What was given as an account (to `bot.block()`) is neither an account id nor a contact link. */
export class InvalidAccountError extends BertybotError {
  constructor (message: string) {
    super('ERR_INVALID_ACCOUNT', message)
  }
}
