import { BertybotError } from 'bertybot/protocol'
import { describe, expect, it } from 'vitest'
import { formatInstant, parseDateTime, parseDuration, parseWhen, WhenError } from '../../bots/announce/when.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const now = Date.parse('2026-03-01T10:00:00Z')
const paris = { now, timezone: 'Europe/Paris' }

/** The instant `input` stands for, in `timezone`, as an ISO string (UTC). */
const when = (input: string, timezone = 'Europe/Paris'): string => parseWhen(input, { now, timezone }).toISOString()

describe('parseWhen: from now', () => {
  it('adds durations in days, hours and minutes', () => {
    expect(parseWhen('in 2h', paris).getTime()).toBe(now + 2 * HOUR)
    expect(parseWhen('in 90m', paris).getTime()).toBe(now + 90 * MINUTE)
    expect(parseWhen('in 1d 3h', paris).getTime()).toBe(now + DAY + 3 * HOUR)
    expect(parseWhen('in 1h30m', paris).getTime()).toBe(now + HOUR + 30 * MINUTE)
  })

  it('takes unit words, any case and surrounding spaces', () => {
    expect(parseWhen('  In 2 hours ', paris).getTime()).toBe(now + 2 * HOUR)
    expect(parseWhen('in 1 day 2 hrs 5 mins', paris).getTime()).toBe(now + DAY + 2 * HOUR + 5 * MINUTE)
    expect(parseWhen('in 1D', paris).getTime()).toBe(now + DAY)
  })

  it('refuses seconds: the smallest unit is the minute', () => {
    expect(() => parseWhen('in 45s', paris)).toThrow('"in 45s": seconds are too fine, the smallest unit is the minute (m)')
  })

  it('refuses unknown units, units out of order or repeated, fractions and zero', () => {
    expect(() => parseWhen('in 2x', paris)).toThrow('"in 2x": "x" is not a unit: write it like 15m, 2h, 2h30m or 1d 3h (units: w d h m)')
    expect(() => parseWhen('in 30m 1h', paris)).toThrow('give each unit once, largest first')
    expect(() => parseWhen('in 1h 1h', paris)).toThrow('give each unit once, largest first')
    expect(() => parseWhen('in 1.5h', paris)).toThrow('"in 1.5h": use whole numbers, as in 1h30m rather than 1.5h')
    expect(() => parseWhen('in 0m', paris)).toThrow('"in 0m": a duration must be longer than zero')
  })

  it('says how to write a duration typed without "in"', () => {
    expect(() => parseWhen('2h', paris)).toThrow('"2h" is not a time: for a time from now, write "in 2h"')
  })

  it('lists the accepted forms for anything else', () => {
    for (const input of ['tomorrow', 'in', '', '9:00', '01/12/2026 09:00']) {
      expect(() => parseWhen(input, paris)).toThrow(/is not a time: use "in 90m", "in 2h", "in 1d 3h", a date and time in Europe\/Paris like "2026-12-01 09:00", or one with its offset/)
    }
  })

  it('refuses a duration so long that it is no date', () => {
    expect(() => parseWhen('in 999999999999999999d', paris)).toThrow('is too long')
    expect(() => parseWhen('in 100000000d', paris)).toThrow('is too far in the future')
  })
})

describe('parseWhen: dates and times', () => {
  it('takes an instant with Z or an offset as it is, whatever the time zone', () => {
    expect(when('2026-12-01T09:00Z')).toBe('2026-12-01T09:00:00.000Z')
    expect(when('2026-12-01t09:00z', 'Asia/Kolkata')).toBe('2026-12-01T09:00:00.000Z')
    expect(when('2026-12-01T09:00:30.250Z')).toBe('2026-12-01T09:00:30.250Z')
    expect(when('2026-12-01T09:00+05:30')).toBe('2026-12-01T03:30:00.000Z')
    expect(when('2026-12-01T09:00-0500')).toBe('2026-12-01T14:00:00.000Z')
    expect(when('2026-12-01 09:00+01')).toBe('2026-12-01T08:00:00.000Z')
  })

  it('reads a time without offset on the wall clock of the time zone, with T or a space', () => {
    expect(when('2026-12-01T09:00', 'Europe/Paris')).toBe('2026-12-01T08:00:00.000Z')
    expect(when('2026-12-01 09:00', 'Europe/Paris')).toBe('2026-12-01T08:00:00.000Z')
    expect(when('2026-07-01 09:00', 'Europe/Paris')).toBe('2026-07-01T07:00:00.000Z')
    expect(when('2026-12-01 09:00', 'America/New_York')).toBe('2026-12-01T14:00:00.000Z')
    expect(when('2026-07-01 09:00', 'America/New_York')).toBe('2026-07-01T13:00:00.000Z')
    expect(when('2026-12-01 09:00', 'UTC')).toBe('2026-12-01T09:00:00.000Z')
    expect(when('2026-12-01 09:00', 'Asia/Kolkata')).toBe('2026-12-01T03:30:00.000Z')
    expect(when('2026-12-01 09:00:45', 'Asia/Kolkata')).toBe('2026-12-01T03:30:45.000Z')
  })

  it('refuses dates and times that do not exist on any calendar', () => {
    expect(() => parseWhen('2026-02-30 09:00', paris)).toThrow('"2026-02-30 09:00": month 2 of 2026 has days 1 to 28')
    expect(() => parseWhen('2028-02-30 09:00', paris)).toThrow('month 2 of 2028 has days 1 to 29')
    expect(() => parseWhen('2026-13-01 09:00', paris)).toThrow('there is no month 13')
    expect(() => parseWhen('2026-12-01 24:00', paris)).toThrow('the time of day must be between 00:00 and 23:59')
    expect(() => parseWhen('2026-12-01 09:60', paris)).toThrow('the time of day must be between 00:00 and 23:59')
    expect(() => parseWhen('2026-12-01T09:00+25:00', paris)).toThrow('+25:00 is not a UTC offset')
  })

  it('asks for a time of day when given only a date', () => {
    expect(() => parseWhen('2026-12-01', paris)).toThrow('"2026-12-01" needs a time of day too, like "2026-12-01T09:00"')
  })

  it('refuses a time in the past, saying when it was', () => {
    expect(() => parseWhen('2026-01-01 09:00', paris)).toThrow('"2026-01-01 09:00" is in the past: it was Thu 1 Jan 2026, 09:00 (Europe/Paris)')
    expect(() => parseWhen('2026-03-01T10:00Z', paris)).toThrow('is in the past')
  })

  it('refuses an unknown time zone', () => {
    expect(() => parseWhen('in 2h', { now, timezone: 'Mars/Olympus' })).toThrow('"Mars/Olympus" is not a time zone')
  })

  it('throws WhenError, a BertybotError with code ERR_WHEN', () => {
    let error: unknown
    try { parseWhen('soon', paris) } catch (e) { error = e }
    expect(error).toBeInstanceOf(WhenError)
    expect(error).toBeInstanceOf(BertybotError)
    expect(error).toMatchObject({ code: 'ERR_WHEN', name: 'WhenError' })
  })
})

describe('wall-clock times across daylight saving time changes', () => {
  it('Europe/Paris in spring: a time in the skipped hour moves forward by the gap', () => {
    expect(parseDateTime('2026-03-29 01:59', 'Europe/Paris').toISOString()).toBe('2026-03-29T00:59:00.000Z')
    expect(parseDateTime('2026-03-29 02:00', 'Europe/Paris').toISOString()).toBe('2026-03-29T01:00:00.000Z')
    expect(parseDateTime('2026-03-29 02:30', 'Europe/Paris').toISOString()).toBe('2026-03-29T01:30:00.000Z')
    expect(parseDateTime('2026-03-29 03:00', 'Europe/Paris').toISOString()).toBe('2026-03-29T01:00:00.000Z')
    expect(parseDateTime('2026-03-29 03:30', 'Europe/Paris').toISOString()).toBe('2026-03-29T01:30:00.000Z')
  })

  it('Europe/Paris in autumn: a time that happens twice is the first one (summer time)', () => {
    expect(parseDateTime('2026-10-25 01:59', 'Europe/Paris').toISOString()).toBe('2026-10-24T23:59:00.000Z')
    expect(parseDateTime('2026-10-25 02:00', 'Europe/Paris').toISOString()).toBe('2026-10-25T00:00:00.000Z')
    expect(parseDateTime('2026-10-25 02:30', 'Europe/Paris').toISOString()).toBe('2026-10-25T00:30:00.000Z')
    expect(parseDateTime('2026-10-25 03:00', 'Europe/Paris').toISOString()).toBe('2026-10-25T02:00:00.000Z')
  })

  it('America/New_York: the same rules on its own dates', () => {
    expect(parseDateTime('2026-03-08 02:30', 'America/New_York').toISOString()).toBe('2026-03-08T07:30:00.000Z')
    expect(parseDateTime('2026-03-08 03:30', 'America/New_York').toISOString()).toBe('2026-03-08T07:30:00.000Z')
    expect(parseDateTime('2026-11-01 01:30', 'America/New_York').toISOString()).toBe('2026-11-01T05:30:00.000Z')
    expect(parseDateTime('2026-11-01 02:30', 'America/New_York').toISOString()).toBe('2026-11-01T07:30:00.000Z')
  })

  it('every quarter hour of both change days reads back as typed, but for the skipped hour', () => {
    for (const day of ['2026-03-29', '2026-10-25']) {
      for (let minutes = 0; minutes < 24 * 60; minutes += 15) {
        const time = `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`
        const shown = formatInstant(parseDateTime(`${day} ${time}`, 'Europe/Paris'), 'Europe/Paris')
        const expected = day === '2026-03-29' && time.startsWith('02:') ? `03:${time.slice(3)}` : time
        expect(shown).toBe(`Sun ${day === '2026-03-29' ? '29 Mar' : '25 Oct'} 2026, ${expected} (Europe/Paris)`)
      }
    }
  })

  it('parseDateTime accepts the past: only parseWhen asks for the future', () => {
    expect(parseDateTime('2020-01-01 09:00', 'UTC').toISOString()).toBe('2020-01-01T09:00:00.000Z')
    expect(() => parseDateTime('in 2h', 'UTC')).toThrow('"in 2h" is not a date and time: use ISO 8601')
  })
})

describe('parseDuration', () => {
  it('reads minutes, hours, days and their combinations', () => {
    expect(parseDuration('15m')).toBe(15 * MINUTE)
    expect(parseDuration('1h')).toBe(HOUR)
    expect(parseDuration('2h30m')).toBe(2 * HOUR + 30 * MINUTE)
    expect(parseDuration('1d')).toBe(DAY)
    expect(parseDuration('1d 12h')).toBe(DAY + 12 * HOUR)
    expect(parseDuration('90m')).toBe(90 * MINUTE)
  })

  it('refuses what is not a duration, seconds and zero', () => {
    expect(() => parseDuration('')).toThrow('a duration is missing: write it like 15m')
    expect(() => parseDuration('15')).toThrow('"15" has no unit: write 15m for minutes')
    expect(() => parseDuration('-5m')).toThrow('"-5m": a duration cannot be negative')
    expect(() => parseDuration('15 x')).toThrow('"x" is not a unit')
    expect(() => parseDuration('30s')).toThrow('seconds are too fine')
    expect(() => parseDuration('0m')).toThrow('"0m": a duration must be longer than zero')
    expect(() => parseDuration('1h 2d')).toThrow('largest first')
  })

  it('keeps to the bounds it is given, and names them as durations', () => {
    expect(parseDuration('1m', { min: MINUTE, max: 7 * DAY })).toBe(MINUTE)
    expect(parseDuration('7d', { min: MINUTE, max: 7 * DAY })).toBe(7 * DAY)
    expect(() => parseDuration('30m', { min: HOUR })).toThrow('"30m" is too short: at least 1h')
    expect(() => parseDuration('8d', { max: 7 * DAY })).toThrow('"8d" is too long: at most 7d')
    expect(() => parseDuration('2d', { max: DAY + 90 * MINUTE })).toThrow('at most 1d1h30m')
  })
})

describe('formatInstant', () => {
  it('shows the day, date and 24-hour time in the time zone, and names the zone', () => {
    const instant = new Date('2026-12-01T08:00:00Z')
    expect(formatInstant(instant, 'Europe/Paris')).toBe('Tue 1 Dec 2026, 09:00 (Europe/Paris)')
    expect(formatInstant(instant, 'America/New_York')).toBe('Tue 1 Dec 2026, 03:00 (America/New_York)')
    expect(formatInstant(instant, 'UTC')).toBe('Tue 1 Dec 2026, 08:00 (UTC)')
    expect(formatInstant(instant, 'Asia/Kolkata')).toBe('Tue 1 Dec 2026, 13:30 (Asia/Kolkata)')
  })

  it('writes midnight as 00:00 and moves the date with the zone', () => {
    expect(formatInstant(new Date('2026-12-01T23:30:00Z'), 'Europe/Paris')).toBe('Wed 2 Dec 2026, 00:30 (Europe/Paris)')
  })

  it('reads back what parseWhen was given', () => {
    for (const timezone of ['Europe/Paris', 'America/New_York', 'UTC', 'Asia/Kolkata']) {
      expect(formatInstant(parseWhen('2026-12-01 09:00', { now, timezone }), timezone)).toBe(`Tue 1 Dec 2026, 09:00 (${timezone})`)
    }
  })
})
