import { DurationError, formatDuration, parseDuration, type DurationOptions } from 'bertybot'
import { describe, expect, it } from 'vitest'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

function durationError (text: string, options?: DurationOptions): DurationError {
  try {
    parseDuration(text, options)
  } catch (error) {
    expect(error).toBeInstanceOf(DurationError)
    expect((error as DurationError).code).toBe('ERR_DURATION')
    return error as DurationError
  }
  throw new Error(`${text} was accepted`)
}

describe('parseDuration', () => {
  it('reads durations as people type them, in milliseconds', () => {
    expect(parseDuration('1h')).toBe(HOUR)
    expect(parseDuration('30m')).toBe(30 * MINUTE)
    expect(parseDuration('2d')).toBe(2 * DAY)
    expect(parseDuration('1h30m')).toBe(90 * MINUTE)
    expect(parseDuration('1h 30m')).toBe(90 * MINUTE)
    expect(parseDuration('1d 3h')).toBe(DAY + 3 * HOUR)
    expect(parseDuration('90s')).toBe(90_000)
    expect(parseDuration('90m')).toBe(90 * MINUTE)
    expect(parseDuration('1w')).toBe(7 * DAY)
    expect(parseDuration('1w2d3h4m5s')).toBe(((9 * 24 + 3) * 60 + 4) * MINUTE + 5000)
    expect(parseDuration(' 2H ')).toBe(2 * HOUR)
    expect(parseDuration('2 hours')).toBe(2 * HOUR)
    expect(parseDuration('1 day 12 hours')).toBe(DAY + 12 * HOUR)
    expect(parseDuration('15 min')).toBe(15 * MINUTE)
    expect(parseDuration('365d')).toBe(365 * DAY)
    expect(parseDuration('1y')).toBe(365 * DAY)
  })

  it('refuses what cannot be meant, saying how to write one', () => {
    expect(durationError('').message).toMatch(/^a duration is missing: write it like 30m/)
    expect(durationError('0s').message).toBe('"0s": a duration must be longer than zero')
    expect(durationError('0h0m').message).toBe('"0h0m": a duration must be longer than zero')
    expect(durationError('-1h').message).toBe('"-1h": a duration cannot be negative')
    expect(durationError('1.5h').message).toBe('"1.5h": use whole numbers, as in 1h30m rather than 1.5h')
    expect(durationError('30').message).toBe('"30" has no unit: write 30m for minutes, 30h for hours or 30d for days')
    expect(durationError('soon').message).toBe('"soon" is not a duration: write it like 30m, 1h, 1h30m, 2d or 1w (units: w d h m s)')
    expect(durationError('15 x').message).toMatch(/^"15 x": "x" is not a unit: write it like/)
    expect(durationError('30m1h').message).toBe('"30m1h": give each unit once, largest first, like 1d 3h 30m')
    expect(durationError('1h1h').message).toMatch(/give each unit once, largest first/)
    expect(durationError('99999999999999999999w').message).toBe('"99999999999999999999w" is too long')
    expect(durationError('soon').input).toBe('soon')
  })

  it('keeps to bounds and to the smallest unit asked for', () => {
    expect(durationError('366d', { max: 365 * DAY }).message).toBe('"366d" is too long: at most 365d')
    expect(durationError('3h', { max: 2 * HOUR }).message).toBe('"3h" is too long: at most 2h')
    expect(durationError('2d', { max: DAY + 90 * MINUTE }).message).toBe('"2d" is too long: at most 1d1h30m')
    expect(durationError('30m', { min: HOUR }).message).toBe('"30m" is too short: at least 1h')
    expect(parseDuration('1m', { min: MINUTE, max: 7 * DAY })).toBe(MINUTE)
    expect(parseDuration('7d', { min: MINUTE, max: 7 * DAY })).toBe(7 * DAY)
    expect(durationError('30s', { smallest: 'minute' }).message).toBe('"30s": seconds are too fine, the smallest unit is the minute (m)')
    expect(durationError('soon', { smallest: 'minute' }).message).toMatch(/\(units: w d h m\)$/)
  })
})

describe('formatDuration', () => {
  it('writes a duration back as parseDuration reads it', () => {
    expect(formatDuration(90 * MINUTE)).toBe('1h30m')
    expect(formatDuration(90_000)).toBe('1m30s')
    expect(formatDuration(2 * DAY)).toBe('2d')
    expect(formatDuration(0)).toBe('0s')
    expect(formatDuration(1500)).toBe('1s')
    expect(parseDuration(formatDuration(93_784_000))).toBe(93_784_000)
  })
})
