/**
 * Times and durations as people type them: "in 2h", "in 1d 3h", "2026-12-01 09:00"
 * (wall-clock time in a time zone) or an ISO 8601 instant with its offset.
 *
 * Durations are bertybot's (`parseDuration`), with the minute as the smallest
 * unit: announcements are planned to the minute, and "in 30s" is more likely a
 * slip for "30m" than a wish, so seconds are refused with a message rather than
 * accepted. Time zone arithmetic uses only Intl.DateTimeFormat (the zone
 * database Node ships), no library.
 */
import { BertybotError, DurationError, isTimeZone, notATimeZone, parseDuration as parseAnyDuration } from 'bertybot'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

const whenForms = (timezone: string): string =>
  `"in 90m", "in 2h", "in 1d 3h", a date and time in ${timezone} like "2026-12-01 09:00", ` +
  'or one with its offset like "2026-12-01T09:00Z" or "2026-12-01T09:00+05:30"'

/** ISO 8601 date, then an optional time (T or a space), then an optional offset. */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i

/** A time or duration typed by a user cannot be used; the message says why and what would do. */
export class WhenError extends BertybotError {
  constructor (message: string) {
    super('ERR_WHEN', message)
  }
}

/**
 * An instant from what a user typed: "in 2h", "in 90m", "in 1d 3h", "in 1h30m"
 * (from `now`), or an ISO 8601 date-time: with Z or an offset it is absolute;
 * without ("2026-12-01T09:00", "2026-12-01 09:00") it is wall-clock time in
 * `timezone` (see {@link parseDateTime} for DST gaps and overlaps). A duration
 * is elapsed time: "in 1d" is 24 hours later, even across a DST change.
 * Throws WhenError if the input is none of these, or is not in the future.
 *
 * @example parseWhen('in 1h30m', { now: Date.now(), timezone: 'Europe/Paris' })
 */
export function parseWhen (input: string, options: { now: number, timezone: string }): Date {
  const { now, timezone } = options
  checkTimeZone(timezone)
  const text = input.trim()
  const relative = /^in\s+(.*)$/is.exec(text)
  let at: Date
  if (relative !== null) {
    at = new Date(now + parseDuration(relative[1] ?? '', { typed: input }))
  } else if (DATE_TIME.test(text)) {
    at = parseDateTime(text, timezone)
  } else if (/^\d+\s*[a-z]/i.test(text)) {
    throw new WhenError(`"${input}" is not a time: for a time from now, write "in ${text}"`)
  } else {
    throw new WhenError(`"${input}" is not a time: use ${whenForms(timezone)}`)
  }
  if (Number.isNaN(at.getTime())) throw new WhenError(`"${input}" is too far in the future`)
  if (at.getTime() <= now) throw new WhenError(`"${input}" is in the past: it was ${formatInstant(at, timezone)}`)
  return at
}

/**
 * Milliseconds from "15m", "1h", "2h30m", "1d 3h" (bertybot's durations, to the
 * minute). `min` defaults to a minute (a zero duration is never meant), `max` to none.
 */
export function parseDuration (input: string, options: { min?: number, max?: number, typed?: string } = {}): number {
  try {
    return parseAnyDuration(input, { min: MINUTE, ...options, smallest: 'minute' })
  } catch (err) {
    throw err instanceof DurationError ? new WhenError(err.message) : err
  }
}

/** An instant as a user reads it, in a time zone: "Tue 1 Dec 2026, 09:00 (Europe/Paris)". */
export function formatInstant (date: Date, timezone: string): string {
  checkTimeZone(timezone)
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric',
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23'
  }).formatToParts(date)
  const part = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? ''
  return `${part('weekday')} ${part('day')} ${part('month')} ${part('year')}, ${part('hour')}:${part('minute')} (${timezone})`
}

/**
 * An ISO 8601 date-time, without the "must be in the future" rule of
 * {@link parseWhen} (a schedule file's `at` may have passed already).
 *
 * Without an offset the time is read on the wall clock of `timezone`. A time
 * that does not exist there (skipped when clocks go forward, 02:30 in Paris on
 * the last Sunday of March) is moved forward by the gap (03:30 summer time),
 * the later valid instant; a time that happens twice (clocks going back) is the
 * first of the two. These are the choices of Temporal's default
 * ("compatible") disambiguation, so a later move to Temporal changes nothing.
 */
export function parseDateTime (input: string, timezone: string): Date {
  const match = DATE_TIME.exec(input.trim())
  if (match === null) throw new WhenError(`"${input}" is not a date and time: use ISO 8601, like "2026-12-01T09:00" or "2026-12-01T09:00Z"`)
  const [, year, month, day, hour, minute, second = '0', fraction = '', offset] = match
  if (hour === undefined || minute === undefined) throw new WhenError(`"${input}" needs a time of day too, like "${input.trim()}T09:00"`)
  const [y, mo, d, h, mi, s] = [Number(year), Number(month), Number(day), Number(hour), Number(minute), Number(second)]
  if (mo < 1 || mo > 12) throw new WhenError(`"${input}": there is no month ${mo}`)
  const daysInMonth = new Date(utc(y, mo + 1, 0, 0, 0, 0, 0)).getUTCDate()
  if (d < 1 || d > daysInMonth) throw new WhenError(`"${input}": month ${mo} of ${y} has days 1 to ${daysInMonth}`)
  if (h > 23 || mi > 59 || s > 59) throw new WhenError(`"${input}": the time of day must be between 00:00 and 23:59`)
  const wall = utc(y, mo, d, h, mi, s, Number(fraction.padEnd(3, '0').slice(0, 3)))
  if (offset === undefined) {
    checkTimeZone(timezone)
    return new Date(wallToInstant(wall, timezone))
  }
  if (offset.toUpperCase() === 'Z') return new Date(wall)
  const [, sign, oh, om = '0'] = /^([+-])(\d{2}):?(\d{2})?$/.exec(offset) ?? []
  if (Number(oh) > 23 || Number(om) > 59) throw new WhenError(`"${input}": ${offset} is not a UTC offset`)
  return new Date(wall - (sign === '-' ? -1 : 1) * (Number(oh) * HOUR + Number(om) * MINUTE))
}

/**
 * The instant at which the wall clock of `timezone` shows `wall` (wall-clock
 * fields encoded as if UTC). The offsets in force a day before and a day after
 * give the two candidates; a candidate is valid if the zone's offset at it is
 * the one it was computed with. One valid: it; two (clocks went back): the
 * earlier; none (clocks went forward): the later, which is `wall` moved forward
 * by the gap. This assumes no zone changes offset twice within two days, which
 * holds for every zone in the database.
 */
function wallToInstant (wall: number, timezone: string): number {
  const candidates = [wall - offsetAt(wall - DAY, timezone), wall - offsetAt(wall + DAY, timezone)]
  const valid = candidates.filter((t) => t + offsetAt(t, timezone) === wall)
  return valid.length > 0 ? Math.min(...valid) : Math.max(...candidates)
}

const formatters = new Map<string, Intl.DateTimeFormat>()

/** How far `timezone`'s wall clock is ahead of UTC at `instant`, in milliseconds. */
function offsetAt (instant: number, timezone: string): number {
  let formatter = formatters.get(timezone)
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric'
    })
    formatters.set(timezone, formatter)
  }
  const parts = formatter.formatToParts(instant)
  const field = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value)
  const wall = utc(field('year'), field('month'), field('day'), field('hour'), field('minute'), field('second'), 0)
  return wall - Math.floor(instant / 1000) * 1000
}

/** Date.UTC without its mapping of years 0–99 to 1900–1999. */
function utc (year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number): number {
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(hour, minute, second, ms)
  return date.getTime()
}

function checkTimeZone (timezone: string): void {
  if (!isTimeZone(timezone)) throw new WhenError(notATimeZone(timezone))
}
