/**
 * The schedule file: announcements and feeds declared in YAML or JSON, so that a
 * GitOps deploy (the file in a repository, mounted into the bot's container)
 * says what the bot announces. Loaded at start and on SIGHUP by the bot.
 *
 * Reading it is the framework's config file machinery (parseConfigFile): every
 * mistake at its line and column, unknown keys refused. Its YAML core schema
 * keeps `at: 2026-12-01T09:00` a string, read here in the entry's time zone
 * (YAML 1.1 would make it a timestamp in UTC).
 */
import {
  ConfigFileError, guarded, loadConfigFile, parseConfigFile, strictObject, validateSchedule, type FilePosition
} from 'bertybot'
import { z } from 'zod'
import { parseDateTime, parseDuration } from './when.ts'

/**
 * Who receives an entry: named channels and/or "subscribers", or everyone (all
 * channels and subscribers: the default, also written `to: everyone`).
 */
export type Recipients = string[] | 'everyone'

export interface FileAnnouncement {
  id: string
  text: string
  /** The entry's, else the file's, else the bot's time zone. */
  timezone: string
  to: Recipients
  /** `once` may be in the past: the file may outlive the announcement, and the bot knows whether it ran. */
  schedule: { kind: 'cron', expression: string } | { kind: 'once', at: Date }
}

export interface FileFeed {
  id: string
  url: string
  /** Unset: the bot's default (ANNOUNCE_FEED_EVERY). */
  everyMs: number | undefined
  to: Recipients
}

export interface ScheduleFile {
  announcements: FileAnnouncement[]
  feeds: FileFeed[]
}

/** The schedule file cannot be read or is wrong; `line` and `column` (1-based) point at the fault when known. */
export class ScheduleFileError extends ConfigFileError {
  constructor (path: string, message: string, at?: FilePosition, options?: ErrorOptions) {
    super(path, message, at, { ...options, code: 'ERR_SCHEDULE_FILE' })
  }
}

/** The framework's ConfigFileError made the ScheduleFileError this module's callers catch; any other error as it is. */
function asScheduleFileError (error: unknown): unknown {
  if (!(error instanceof ConfigFileError) || error instanceof ScheduleFileError) return error
  const at = error.line === undefined || error.column === undefined ? undefined : { line: error.line, column: error.column }
  return new ScheduleFileError(error.path, error.problem, at, { cause: error.cause })
}

const FEED_EVERY = { min: 60_000, max: 7 * 24 * 3_600_000 }
const MAX_TEXT = 4000
/** A time zone is checked with a cron expression known to be valid, so an issue is the zone's. */
const ANY_MINUTE = '* * * * *'

const id = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, {
  error: (issue) => `"${String(issue.input)}" is not an id: use 1 to 40 lowercase letters, digits and dashes, starting with a letter or digit`
})
const timeZone = z.string().superRefine(guarded((zone: string) => { validateSchedule(ANY_MINUTE, zone) }))
const recipient = z.string().regex(/^\S{1,64}$/, { error: (issue) => `"${String(issue.input)}" is not a channel name or "subscribers"` })
const recipients = z.union([recipient, z.array(recipient).min(1, 'an empty list: leave `to` out to send to everyone')], {
  error: 'expected a channel name, "subscribers", or a list of them'
}).transform((to): Recipients => {
  const names = [...new Set(typeof to === 'string' ? [to] : to)]
  return names.includes('everyone') ? 'everyone' : names
})

const announcementSchema = strictObject({
  id,
  cron: z.string().superRefine(guarded((expression: string) => { validateSchedule(expression, 'UTC') })).optional(),
  at: z.union([z.string().superRefine(guarded((at: string) => { parseDateTime(at, 'UTC') })), z.date()], {
    error: 'expected a date and time, like 2026-12-01T09:00'
  }).optional(),
  text: z.string().trim().min(1, 'is empty').max(MAX_TEXT, `is longer than ${MAX_TEXT} characters`),
  timezone: timeZone.optional(),
  to: recipients.optional()
}).transform(({ cron, at, ...rest }, ctx) => {
  if (cron !== undefined && at !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['at'], message: 'give cron (to repeat) or at (to send once), not both' })
    return z.NEVER
  }
  if (cron !== undefined) return { ...rest, schedule: { kind: 'cron' as const, expression: cron } }
  if (at !== undefined) return { ...rest, schedule: { kind: 'once' as const, at } }
  ctx.addIssue({ code: 'custom', message: 'needs cron (to repeat) or at (to send once)' })
  return z.NEVER
})

const feedSchema = strictObject({
  id,
  url: z.string().superRefine(guarded((url: string) => {
    if (!/^https?:$/.test(URL.parse(url)?.protocol ?? '')) throw new Error(`"${url}" is not an http or https URL`)
  })),
  every: z.string({ error: 'expected a duration, like 15m or 1h' })
    .transform(guarded((every: string) => parseDuration(every, FEED_EVERY))).optional(),
  to: recipients.optional()
})

/** An id used twice in a list is an error at its second use. */
const uniqueIds = (list: string) => (entries: Array<{ id: string }>, ctx: z.RefinementCtx): void => {
  const first = new Map<string, number>()
  entries.forEach((entry, index) => {
    const earlier = first.get(entry.id)
    if (earlier === undefined) first.set(entry.id, index)
    else ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `"${entry.id}" is already the id of ${list}[${earlier}]` })
  })
}

const fileSchema = strictObject({
  timezone: timeZone.optional(),
  // Null too: `announcements:` left with every entry commented out is an empty list.
  announcements: z.array(announcementSchema).superRefine(uniqueIds('announcements')).nullish(),
  feeds: z.array(feedSchema).superRefine(uniqueIds('feeds')).nullish()
})

/** The default time zone is the caller's mistake, not the file's: no line. */
function checkDefaultTimezone (path: string, defaultTimezone: string): void {
  try {
    validateSchedule(ANY_MINUTE, defaultTimezone)
  } catch (error) {
    throw new ScheduleFileError(path, `the default time zone: ${error instanceof Error ? error.message : String(error)}`, undefined, { cause: error })
  }
}

/**
 * Parses a schedule file's text. `path` names the file in messages;
 * `defaultTimezone` applies to entries without a time zone when the file has none.
 */
export function parseScheduleFile (text: string, options: { path: string, defaultTimezone: string }): ScheduleFile {
  const { path, defaultTimezone } = options
  checkDefaultTimezone(path, defaultTimezone)
  let file: z.output<typeof fileSchema>
  try {
    file = parseConfigFile(text, fileSchema, { path })
  } catch (error) {
    throw asScheduleFileError(error)
  }
  return resolve(file, defaultTimezone)
}

/** Reads and parses a schedule file (.yaml, .yml or .json); see {@link parseScheduleFile}. */
export async function loadScheduleFile (path: string, options: { defaultTimezone: string }): Promise<ScheduleFile> {
  const { defaultTimezone } = options
  checkDefaultTimezone(path, defaultTimezone)
  const file = await loadConfigFile(path, fileSchema, { what: 'schedule file' }).catch((error: unknown) => { throw asScheduleFileError(error) })
  return resolve(file, defaultTimezone)
}

/** Applies the time zone defaults and reads `at` in its entry's time zone. */
function resolve (file: z.output<typeof fileSchema>, defaultTimezone: string): ScheduleFile {
  const fileZone = file.timezone ?? defaultTimezone
  return {
    announcements: (file.announcements ?? []).map(({ schedule, timezone = fileZone, to = 'everyone', ...rest }) => ({
      ...rest,
      timezone,
      to,
      schedule: schedule.kind === 'cron'
        ? schedule
        : { kind: 'once' as const, at: schedule.at instanceof Date ? schedule.at : parseDateTime(schedule.at, timezone) }
    })),
    feeds: (file.feeds ?? []).map(({ every, to = 'everyone', ...rest }) => ({ ...rest, everyMs: every, to }))
  }
}
