import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino'
import pretty from 'pino-pretty'
import { z } from 'zod'
import { EnvironmentError } from './errors.ts'

/**
 * One logger for the whole process, with namespaces (`protocol:group`,
 * `framework:bot`, ...). Human-readable on stderr by default, JSON lines on
 * request. Secrets (keys, group secrets, message text) are never logged.
 */
export type Logger = PinoLogger

export type LogLevel = LevelWithSilent
export type LogFormat = 'pretty' | 'json'

export interface LoggerOptions {
  level?: LogLevel
  format?: LogFormat
  /** A writable stream or file descriptor; stderr by default, so stdout stays the program's own. */
  destination?: number | NodeJS.WritableStream
}

const logLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
const logFormatSchema = z.enum(['pretty', 'json'])

/** Reads `BERTYBOT_LOG_LEVEL` and `BERTYBOT_LOG_FORMAT`; a bad value is an error naming the variable. */
export function loggerOptionsFromEnv (env: NodeJS.ProcessEnv = process.env): LoggerOptions {
  const options: LoggerOptions = {}
  if (env.BERTYBOT_LOG_LEVEL !== undefined && env.BERTYBOT_LOG_LEVEL !== '') {
    const level = logLevelSchema.safeParse(env.BERTYBOT_LOG_LEVEL)
    if (!level.success) {
      throw new EnvironmentError('BERTYBOT_LOG_LEVEL', `must be one of ${logLevelSchema.options.join(', ')} (got "${env.BERTYBOT_LOG_LEVEL}")`)
    }
    options.level = level.data
  }
  if (env.BERTYBOT_LOG_FORMAT !== undefined && env.BERTYBOT_LOG_FORMAT !== '') {
    const format = logFormatSchema.safeParse(env.BERTYBOT_LOG_FORMAT)
    if (!format.success) {
      throw new EnvironmentError('BERTYBOT_LOG_FORMAT', `must be "pretty" or "json" (got "${env.BERTYBOT_LOG_FORMAT}")`)
    }
    options.format = format.data
  }
  return options
}

export function createLogger (options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info'
  const destination = options.destination ?? 2
  if (options.format === 'json') {
    const stream = typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination
    return pino({ level, base: undefined }, stream)
  }
  const stream = pretty({
    destination: typeof destination === 'number' ? destination : destination as NodeJS.WritableStream,
    sync: true,
    colorize: typeof destination === 'number' && process.stderr.isTTY,
    ignore: 'pid,hostname,ns',
    messageFormat: '{if ns}[{ns}] {end}{msg}',
    translateTime: 'SYS:HH:MM:ss.l'
  })
  return pino({ level, base: undefined }, stream)
}

let rootLogger: Logger | undefined

/** The process's shared logger, configured from the environment the first time it is asked for. */
export function defaultLogger (): Logger {
  rootLogger ??= createLogger(loggerOptionsFromEnv())
  return rootLogger
}

/** The logger each namespaced logger was made from, so that a namespace replaces, not adds to, another. */
const roots = new WeakMap<Logger, Logger>()

/** A child logger whose lines carry the namespace `ns` (in place of the logger's own, if it had one). */
export function namespaced (logger: Logger, ns: string): Logger {
  const root = roots.get(logger) ?? logger
  const child = root.child({ ns })
  roots.set(child, root)
  return child
}
