/**
 * The announcement bot's own settings, from the environment or `.env` (every
 * variable is in `.env.example`). The framework's own (`BERTYBOT_DATA`,
 * `BERTYBOT_NAME`, `BERTYBOT_TIMEZONE`, `BERTYBOT_REPLICAS`, `BERTYBOT_HTTP`,
 * ...) are read by `createBot()`.
 */
import { accountListSchema } from 'bertybot'
import { bridgeOptions, bridgeSettingsSchema, type BridgeOptions } from 'bertybot/bridge'
import { z } from 'zod'
import { parseDuration } from './when.ts'

const duration = (fallback: string, bounds: { min: number, max: number }): z.ZodType<number> =>
  z.string().default(fallback).transform((value, ctx) => {
    try {
      return parseDuration(value, bounds)
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message })
      return z.NEVER
    }
  })

const MINUTE = 60_000

export const announceSettingsSchema = z.object({
  /** Who may manage announcements, channels and feeds: contact links or account ids, comma-separated. */
  ANNOUNCE_ADMINS: accountListSchema.refine((ids) => ids.length > 0, 'name at least one admin (a contact link or an account id)'),
  /** An occurrence that fell due while the bot was down: `send` it once, marked late, or `skip` it (logged). */
  ANNOUNCE_MISSED: z.enum(['send', 'skip']).default('send'),
  /** A YAML or JSON file of announcements and feeds, loaded at start and on SIGHUP. */
  ANNOUNCE_SCHEDULE_FILE: z.string().optional(),
  /** How often a feed is checked unless `/feed add --every` says otherwise. */
  ANNOUNCE_FEED_EVERY: duration('15m', { min: MINUTE, max: 7 * 24 * 60 * MINUTE }),
  /** `on`: the alert bridge (webhooks into channels, /bridge, /alerts, /silence); needs BERTYBOT_HTTP. */
  ANNOUNCE_BRIDGE: z.enum(['on', 'off']).default('off'),
  ...bridgeSettingsSchema.shape
})

/** The settings as the bot uses them. */
export interface AnnounceSettings {
  admins: string[]
  missed: 'send' | 'skip'
  scheduleFile: string | undefined
  feedEveryMs: number
  /** How long one check of a feed may take. */
  feedTimeoutMs: number
  /** The alert bridge's options, when it is on (the admins are the bot's). */
  bridge: Omit<BridgeOptions, 'isAdmin'> | undefined
}

export function announceSettings (env: z.output<typeof announceSettingsSchema>): AnnounceSettings {
  return {
    admins: env.ANNOUNCE_ADMINS,
    missed: env.ANNOUNCE_MISSED,
    scheduleFile: env.ANNOUNCE_SCHEDULE_FILE,
    feedEveryMs: env.ANNOUNCE_FEED_EVERY,
    feedTimeoutMs: 20_000,
    bridge: env.ANNOUNCE_BRIDGE === 'on' ? bridgeOptions(env) : undefined
  }
}
