/**
 * The schedule file: announcements and feeds declared in YAML or JSON, so that a
 * GitOps deploy (the file in a repository, mounted into the bot's container)
 * says what the bot announces. Loaded at start and on SIGHUP by the bot.
 *
 * Every mistake is reported at its line and column, because whoever fixes it
 * reads a deploy log, not the code: YAML syntax errors where the parser stopped,
 * schema errors at the node the zod issue's path leads to. Unknown keys are
 * errors: a typo like `txt:` must not silently drop the text.
 *
 * The file is read with YAML's core schema, in which `at: 2026-12-01T09:00` is
 * a string (YAML 1.1 would make it a timestamp in UTC, not in the entry's time
 * zone). JSON is read by the same parser (JSON is YAML), so both get the same
 * messages, and duplicate keys are refused in both.
 */
import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import { validateSchedule } from 'bertybot'
import { BertybotError } from 'bertybot/protocol'
import { closest, distance } from 'fastest-levenshtein'
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml'
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
export class ScheduleFileError extends BertybotError {
  readonly path: string
  readonly line?: number
  readonly column?: number

  constructor (path: string, message: string, at?: { line: number, column: number }, options?: ErrorOptions) {
    super('ERR_SCHEDULE_FILE', `${path}${at === undefined ? '' : `:${at.line}:${at.column}`}: ${message}`, options)
    this.path = path
    this.line = at?.line
    this.column = at?.column
  }
}

const FEED_EVERY = { min: 60_000, max: 7 * 24 * 3_600_000 }
const MAX_TEXT = 4000
/** A time zone is checked with a cron expression known to be valid, so an issue is the zone's. */
const ANY_MINUTE = '* * * * *'

const messageOf = (error: unknown): string => error instanceof Error ? error.message : String(error)

/** A check or conversion that throws, made a refinement or transform: what it throws becomes an issue on the field's path. */
const guarded = <T, U>(convert: (value: T) => U) => (value: T, ctx: z.RefinementCtx): U => {
  try {
    return convert(value)
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: messageOf(error) })
    return z.NEVER
  }
}

/** An object that refuses unknown keys, naming the known ones (and the likely one, for a typo). */
function strict<Shape extends z.ZodRawShape> (shape: Shape): z.ZodObject<Shape, z.core.$strict> {
  const known = Object.keys(shape)
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== 'unrecognized_keys') return undefined
      const unknown = issue.keys.map((key) => {
        const guess = closest(key, known)
        return `unknown key "${key}"${distance(key, guess) <= 2 ? ` (did you mean "${guess}"?)` : ''}`
      })
      return `${unknown.join(', ')}; known keys: ${known.join(', ')}`
    }
  })
}

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

const announcementSchema = strict({
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

const feedSchema = strict({
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

const fileSchema = strict({
  timezone: timeZone.optional(),
  // Null too: `announcements:` left with every entry commented out is an empty list.
  announcements: z.array(announcementSchema).superRefine(uniqueIds('announcements')).nullish(),
  feeds: z.array(feedSchema).superRefine(uniqueIds('feeds')).nullish()
})

/** Messages for zod's generic issues, in the words of someone editing the file. */
const NAMES: Record<string, string> = { object: 'a mapping (key: value)', array: 'a list', string: 'text' }

function describeIssue (issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== 'invalid_type') return undefined
  if (issue.input === undefined) return 'required, but missing'
  const got = issue.input === null ? 'nothing' : Array.isArray(issue.input) ? 'a list' : typeof issue.input === 'object' ? 'a mapping' : `${typeof issue.input} ${String(issue.input)}`
  return `expected ${NAMES[issue.expected] ?? issue.expected}, got ${got}`
}

/**
 * Parses a schedule file's text. `path` names the file in messages;
 * `defaultTimezone` applies to entries without a time zone when the file has none.
 */
export function parseScheduleFile (text: string, options: { path: string, defaultTimezone: string }): ScheduleFile {
  const { path, defaultTimezone } = options
  try {
    validateSchedule(ANY_MINUTE, defaultTimezone)
  } catch (error) {
    throw new ScheduleFileError(path, `the default time zone: ${messageOf(error)}`, undefined, { cause: error })
  }
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false })
  const problems = doc.errors.map((e) => ({ offset: e.pos[0], message: e.message }))
  if (problems.length === 0) {
    const result = fileSchema.safeParse(doc.toJS() ?? {}, { error: describeIssue })
    if (result.success) return resolve(result.data, defaultTimezone)
    for (const issue of result.error.issues) {
      const name = issue.path.map((key, i) => typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`).join('')
      // An unknown key is pointed at (the first one, if several), not the mapping holding it.
      const offset = issue.code === 'unrecognized_keys'
        ? nodeOffset(doc, [...issue.path, issue.keys[0] ?? ''], true)
        : nodeOffset(doc, issue.path, false)
      problems.push({ offset, message: name === '' ? issue.message : `${name}: ${issue.message}` })
    }
  }
  problems.sort((a, b) => a.offset - b.offset)
  const [first, ...others] = problems.map(({ offset, message }) => {
    const { line, col } = lineCounter.linePos(offset)
    return { at: { line, column: col }, message }
  })
  const more = others.map((p) => `\n${path}:${p.at.line}:${p.at.column}: ${p.message}`).join('')
  throw new ScheduleFileError(path, `${first?.message ?? 'invalid'}${more}`, first?.at)
}

/** Reads and parses a schedule file (.yaml, .yml or .json); see {@link parseScheduleFile}. */
export async function loadScheduleFile (path: string, options: { defaultTimezone: string }): Promise<ScheduleFile> {
  if (!['.yaml', '.yml', '.json'].includes(extname(path).toLowerCase())) {
    throw new ScheduleFileError(path, 'a schedule file is .yaml, .yml or .json')
  }
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? error.code : undefined
    const why = code === 'ENOENT' ? 'there is no such file' : code === 'EACCES' ? 'permission denied' : messageOf(error)
    throw new ScheduleFileError(path, `cannot read the schedule file: ${why}`, undefined, { cause: error })
  }
  return parseScheduleFile(text, { path, defaultTimezone: options.defaultTimezone })
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

/**
 * Where in the text the node at `path` starts: its key's position if `key`
 * (an unknown key), else its value's; for a missing key, the mapping that lacks it.
 */
function nodeOffset (doc: Document, path: readonly PropertyKey[], key: boolean): number {
  let node: unknown = doc.contents
  let offset = rangeStart(node) ?? 0
  for (const [index, segment] of path.entries()) {
    let keyNode: unknown
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === segment)
      if (pair === undefined) break
      keyNode = pair.key
      node = pair.value
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment]
    } else {
      break
    }
    if (key && index === path.length - 1) return rangeStart(keyNode) ?? offset
    offset = rangeStart(node) ?? rangeStart(keyNode) ?? offset
  }
  return offset
}

const rangeStart = (node: unknown): number | undefined => isNode(node) ? node.range?.[0] : undefined
