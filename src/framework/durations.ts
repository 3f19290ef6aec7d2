/**
 * Durations as people type them, one grammar for the whole of bertybot and
 * for bots: `90s`, `30m`, `1h30m`, `1d 3h`, `2 hours`, `1w`. Whole numbers,
 * units largest first and each once, spaces allowed, any case. Every way to
 * get it wrong has its own message, saying how to write one.
 */
import { BertybotError } from '../protocol/index.ts'

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const WEEK = 7 * DAY
const YEAR = 365 * DAY

const UNITS: ReadonlyMap<string, number> = new Map([
  ...['y', 'yr', 'yrs', 'year', 'years'].map((w) => [w, YEAR] as const),
  ...['w', 'wk', 'wks', 'week', 'weeks'].map((w) => [w, WEEK] as const),
  ...['d', 'day', 'days'].map((w) => [w, DAY] as const),
  ...['h', 'hr', 'hrs', 'hour', 'hours'].map((w) => [w, HOUR] as const),
  ...['m', 'min', 'mins', 'minute', 'minutes'].map((w) => [w, MINUTE] as const),
  ...['s', 'sec', 'secs', 'second', 'seconds'].map((w) => [w, SECOND] as const)
])

/** A duration someone typed cannot be used; the message says why and how to write one. */
export class DurationError extends BertybotError {
  /** What was typed. */
  readonly input: string

  constructor (input: string, message: string) {
    super('ERR_DURATION', message)
    this.input = input
  }
}

export interface DurationOptions {
  /** The shortest accepted, in milliseconds. Default: anything longer than zero. */
  min?: number
  /** The longest accepted, in milliseconds. Default: no limit. */
  max?: number
  /** `minute` refuses seconds, for what is planned to the minute (there `30s` is likelier a slip for `30m`). Default `second`. */
  smallest?: 'second' | 'minute'
  /** What errors quote as typed, when the duration was part of it (`in 2h`). Default: the duration. */
  typed?: string
}

/**
 * Milliseconds from a duration as typed.
 * @throws DurationError saying what is wrong and how to write it
 */
export function parseDuration (text: string, options: DurationOptions = {}): number {
  const { min = 1, max = Number.POSITIVE_INFINITY, smallest = 'second' } = options
  const input = text.trim()
  const shown = options.typed?.trim() ?? input
  const how = smallest === 'minute'
    ? 'write it like 15m, 2h, 2h30m or 1d 3h (units: w d h m)'
    : 'write it like 30m, 1h, 1h30m, 2d or 1w (units: w d h m s)'
  if (input === '') throw new DurationError(text, options.typed === undefined ? `a duration is missing: ${how}` : `"${shown}": a duration is missing: ${how}`)
  if (input.startsWith('-')) throw new DurationError(text, `"${shown}": a duration cannot be negative`)
  if (/^\d+$/.test(input)) {
    throw new DurationError(text, `"${shown}" has no unit: write ${input}m for minutes, ${input}h for hours or ${input}d for days`)
  }
  if (/\d[.,]\d/.test(input)) throw new DurationError(text, `"${shown}": use whole numbers, as in 1h30m rather than 1.5h`)
  const part = /\s*(\d+)\s*([a-z]+)\s*/iy
  let total = 0
  let previous = Number.POSITIVE_INFINITY
  while (part.lastIndex < input.length) {
    const match = part.exec(input)
    if (match === null) throw new DurationError(text, `"${shown}" is not a duration: ${how}`)
    const [, digits = '', word = ''] = match
    const unit = UNITS.get(word.toLowerCase())
    if (unit === undefined) throw new DurationError(text, `"${shown}": "${word}" is not a unit: ${how}`)
    if (unit === SECOND && smallest === 'minute') throw new DurationError(text, `"${shown}": seconds are too fine, the smallest unit is the minute (m)`)
    if (unit >= previous) throw new DurationError(text, `"${shown}": give each unit once, largest first, like 1d 3h 30m`)
    // Beyond 15 digits a number is far over any maximum, and past exact arithmetic.
    total += digits.length > 15 ? Number.POSITIVE_INFINITY : Number(digits) * unit
    previous = unit
  }
  if (total === 0) throw new DurationError(text, `"${shown}": a duration must be longer than zero`)
  if (total > max || !Number.isFinite(total)) {
    throw new DurationError(text, Number.isFinite(max) ? `"${shown}" is too long: at most ${formatDuration(max)}` : `"${shown}" is too long`)
  }
  if (total < min) throw new DurationError(text, `"${shown}" is too short: at least ${formatDuration(min)}`)
  return total
}

/** `5400000` → `1h30m`; a year is `365d`. Seconds are the smallest unit shown (rounded down). */
export function formatDuration (ms: number): string {
  let rest = Math.floor(ms / SECOND) * SECOND
  if (rest <= 0) return '0s'
  let out = ''
  for (const [name, unit] of [['d', DAY], ['h', HOUR], ['m', MINUTE], ['s', SECOND]] as const) {
    const n = Math.floor(rest / unit)
    if (n > 0) out += `${n}${name}`
    rest -= n * unit
  }
  return out
}
