/** What a bot is made with, besides its configuration (`config.ts`): `createBot(options)`. */
import type { Clock, Logger } from '../protocol/index.ts'
import type { BotConfigOptions } from './config.ts'

export interface BotOptions extends BotConfigOptions {
  logger?: Logger
  /** The clock schedules, dialogues' timeouts and timestamps follow (a `ManualClock` in tests). */
  clock?: Clock
  /** Print the contact link (and a QR code on a terminal) at start. Default: true. */
  printLink?: boolean
  /** Stop cleanly on SIGINT and SIGTERM. Default: true. */
  handleSignals?: boolean
  /** How long `stop()` waits for queued messages to go out. Default: 10 s. */
  drainTimeoutMs?: number
}
