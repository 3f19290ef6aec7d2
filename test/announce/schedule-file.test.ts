import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BertybotError } from 'bertybot/protocol'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadScheduleFile, parseScheduleFile, ScheduleFileError, type ScheduleFile } from '../../bots/announce/schedule-file.ts'

const lines = (...text: string[]): string => text.join('\n') + '\n'
const parse = (text: string, path = 'announcements.yaml'): ScheduleFile => parseScheduleFile(text, { path, defaultTimezone: 'UTC' })

/** The error a file's text is refused with. */
function refusal (text: string, path = 'announcements.yaml'): ScheduleFileError {
  try {
    parse(text, path)
  } catch (error) {
    if (error instanceof ScheduleFileError) return error
    throw error
  }
  throw new Error('the file was accepted')
}

const YAML = lines(
  'timezone: Europe/Paris',
  'announcements:',
  '  - id: standup',
  '    cron: "0 9 * * 1-5"',
  '    text: Stand-up in 5 minutes',
  '    to: [dev, ops]',
  '  - id: launch',
  '    at: 2026-12-01T09:00',
  '    text: |',
  '      We launch today.',
  '      Join us!',
  '    timezone: America/New_York',
  '    to: subscribers',
  '  - id: exact',
  '    at: 2026-12-01T09:00:00+05:30',
  '    text: On time',
  'feeds:',
  '  - id: blog',
  '    url: https://example.org/feed.xml',
  '  - id: status',
  '    url: http://status.example.org/rss',
  '    every: 1h30m',
  '    to: ops'
)

const JSON_FILE = JSON.stringify({
  timezone: 'Europe/Paris',
  announcements: [
    { id: 'standup', cron: '0 9 * * 1-5', text: 'Stand-up in 5 minutes', to: ['dev', 'ops'] },
    { id: 'launch', at: '2026-12-01T09:00', text: 'We launch today.\nJoin us!\n', timezone: 'America/New_York', to: 'subscribers' },
    { id: 'exact', at: '2026-12-01T09:00:00+05:30', text: 'On time' }
  ],
  feeds: [
    { id: 'blog', url: 'https://example.org/feed.xml' },
    { id: 'status', url: 'http://status.example.org/rss', every: '1h30m', to: 'ops' }
  ]
}, null, 2)

const EXPECTED: ScheduleFile = {
  announcements: [
    { id: 'standup', text: 'Stand-up in 5 minutes', timezone: 'Europe/Paris', to: ['dev', 'ops'], schedule: { kind: 'cron', expression: '0 9 * * 1-5' } },
    { id: 'launch', text: 'We launch today.\nJoin us!', timezone: 'America/New_York', to: ['subscribers'], schedule: { kind: 'once', at: new Date('2026-12-01T14:00:00Z') } },
    { id: 'exact', text: 'On time', timezone: 'Europe/Paris', to: 'everyone', schedule: { kind: 'once', at: new Date('2026-12-01T03:30:00Z') } }
  ],
  feeds: [
    { id: 'blog', url: 'https://example.org/feed.xml', everyMs: undefined, to: 'everyone' },
    { id: 'status', url: 'http://status.example.org/rss', everyMs: 90 * 60_000, to: ['ops'] }
  ]
}

describe('parseScheduleFile: valid files', () => {
  it('reads a YAML file, with time zone defaults, recipients and `at` on its entry\'s wall clock', () => {
    expect(parse(YAML)).toEqual(EXPECTED)
  })

  it('reads the same schedule written as JSON', () => {
    expect(parse(JSON_FILE, 'announcements.json')).toEqual(EXPECTED)
  })

  it('uses the bot\'s time zone when the file names none', () => {
    const file = parseScheduleFile(lines('announcements:', '  - id: a', '    at: 2026-12-01 09:00', '    text: hi'), { path: 'a.yaml', defaultTimezone: 'Asia/Kolkata' })
    expect(file.announcements[0]).toMatchObject({ timezone: 'Asia/Kolkata', schedule: { kind: 'once', at: new Date('2026-12-01T03:30:00Z') } })
  })

  it('reads a YAML 1.1 timestamp in the entry\'s time zone, not in UTC', () => {
    const file = parse(lines('timezone: Europe/Paris', 'announcements:', '  - id: a', '    at: 2026-12-01 09:00:00', '    text: hi'))
    expect(file.announcements[0]?.schedule).toEqual({ kind: 'once', at: new Date('2026-12-01T08:00:00Z') })
  })

  it('accepts an `at` in the past: the bot decides what to do with it', () => {
    expect(parse(lines('announcements:', '  - id: old', '    at: 2001-01-01T00:00Z', '    text: hi')).announcements[0]?.schedule)
      .toEqual({ kind: 'once', at: new Date('2001-01-01T00:00:00Z') })
  })

  it('reads `to: everyone`, alone or in a list, as everyone, and drops repeated names', () => {
    const file = parse(lines('announcements:',
      '  - { id: a, cron: "* * * * *", text: hi, to: everyone }',
      '  - { id: b, cron: "* * * * *", text: hi, to: [dev, everyone] }',
      '  - { id: c, cron: "* * * * *", text: hi, to: [dev, dev, subscribers] }'))
    expect(file.announcements.map((a) => a.to)).toEqual(['everyone', 'everyone', ['dev', 'subscribers']])
  })

  it('reads an empty file, or lists with every entry commented out, as nothing to do', () => {
    expect(parse('')).toEqual({ announcements: [], feeds: [] })
    expect(parse(lines('# nothing yet', 'announcements:', '#  - id: a', 'feeds:'))).toEqual({ announcements: [], feeds: [] })
  })
})

describe('parseScheduleFile: mistakes, at their line', () => {
  it('a YAML syntax error, where the parser stopped', () => {
    const error = refusal(lines('announcements:', '  - id: a', '    text: hi', '   cron: "* * * * *"'))
    expect(error).toMatchObject({ code: 'ERR_SCHEDULE_FILE', path: 'announcements.yaml', line: 4 })
    expect(error.message).toMatch(/^announcements\.yaml:4:\d+: /)
  })

  it('a JSON syntax error', () => {
    const error = refusal('{\n  "announcements": [\n    { "id": "a" "text": "hi" }\n  ]\n}\n', 'announcements.json')
    expect(error).toMatchObject({ path: 'announcements.json', line: 3 })
  })

  it('a key given twice in a mapping', () => {
    expect(refusal(lines('announcements: []', 'announcements: []'))).toMatchObject({ line: 2 })
  })

  it('an unknown key, with the key it was probably meant to be', () => {
    const error = refusal(lines('announcements:', '  - id: a', '    cron: "0 9 * * *"', '    text: hello', '    too: dev'))
    expect(error).toMatchObject({ line: 5, column: 5 })
    expect(error.message).toBe('announcements.yaml:5:5: announcements[0]: unknown key "too" (did you mean "to"?); known keys: id, cron, at, text, timezone, to')
  })

  it('a misspelt required key: both the unknown key and what it left missing', () => {
    const error = refusal(lines('announcements:', '  - id: a', '    cron: "0 9 * * *"', '    txt: hello'))
    expect(error.message.split('\n')).toEqual([
      'announcements.yaml:2:5: announcements[0].text: required, but missing',
      'announcements.yaml:4:5: announcements[0]: unknown key "txt" (did you mean "text"?); known keys: id, cron, at, text, timezone, to'
    ])
  })

  it('a key misspelt with a look-alike letter, and an unknown key at the top', () => {
    expect(refusal(lines('announcements:', '  - id: a', '    crон: "0 9 * * *"', '    text: hi')).message)
      .toContain('announcements[0]: unknown key "crон" (did you mean "cron"?)')
    const top = refusal(lines('timezone: UTC', 'anouncements: []'))
    expect(top).toMatchObject({ line: 2, column: 1 })
    expect(top.message).toContain('unknown key "anouncements" (did you mean "announcements"?)')
  })

  it('a bad cron expression, at its value', () => {
    const error = refusal(lines(
      'announcements:', '  - id: a', '    cron: "0 9 * * *"', '    text: hi',
      '  - id: b', '    text: hi', '    cron: "0 99 * * *"'))
    expect(error).toMatchObject({ line: 7, column: 11 })
    expect(error.message).toMatch(/^announcements\.yaml:7:11: announcements\[1\]\.cron: "0 99 \* \* \*" is not a cron expression \(/)
  })

  it('a bad time zone, in an entry or for the whole file', () => {
    const entry = refusal(lines('announcements:', '  - id: a', '    cron: "0 9 * * *"', '    text: hi', '    timezone: Mars/Olympus'))
    expect(entry).toMatchObject({ line: 5, column: 15 })
    expect(entry.message).toContain('announcements[0].timezone: "Mars/Olympus" is not a time zone')
    expect(refusal(lines('timezone: Europe/Pariss', 'announcements: []'))).toMatchObject({ line: 1, column: 11 })
  })

  it('an id used twice, at its second use', () => {
    const error = refusal(lines(
      'announcements:', '  - id: standup', '    cron: "0 9 * * *"', '    text: hi',
      '  - id: standup', '    cron: "0 10 * * *"', '    text: ho'))
    expect(error).toMatchObject({ line: 5, column: 9 })
    expect(error.message).toContain('announcements[1].id: "standup" is already the id of announcements[0]')
  })

  it('an id used twice among feeds, though an announcement may share it', () => {
    const text = lines('announcements:', '  - { id: blog, cron: "* * * * *", text: hi }', 'feeds:', '  - id: blog', '    url: https://a.example/feed', '  - id: blog', '    url: https://b.example/feed')
    expect(refusal(text)).toMatchObject({ line: 6 })
  })

  it('a missing text, at the entry that lacks it', () => {
    const error = refusal(lines('announcements:', '  - id: a', '    cron: "0 9 * * *"', '    text: hi', '  - id: b', '    cron: "0 9 * * *"'))
    expect(error).toMatchObject({ line: 5, column: 5 })
    expect(error.message).toContain('announcements[1].text: required, but missing')
  })

  it('an entry with neither cron nor at, or with both', () => {
    expect(refusal(lines('announcements:', '  - id: a', '    text: hi')).message)
      .toBe('announcements.yaml:2:5: announcements[0]: needs cron (to repeat) or at (to send once)')
    const both = refusal(lines('announcements:', '  - id: a', '    cron: "0 9 * * *"', '    at: 2026-12-01T09:00', '    text: hi'))
    expect(both).toMatchObject({ line: 4, column: 9 })
    expect(both.message).toContain('announcements[0].at: give cron (to repeat) or at (to send once), not both')
  })

  it('an `at` that is no date and time', () => {
    const entry = (at: string): string => lines('announcements:', '  - id: a', `    at: ${at}`, '    text: hi')
    expect(refusal(entry('2026-02-30T09:00')).message).toContain('announcements[0].at: "2026-02-30T09:00": month 2 of 2026 has days 1 to 28')
    expect(refusal(entry('2026-12-01')).message).toContain('"2026-12-01" needs a time of day too')
    expect(refusal(entry('tomorrow')).message).toContain('"tomorrow" is not a date and time')
    expect(refusal(entry('42')).message).toContain('announcements[0].at: expected a date and time, like 2026-12-01T09:00')
  })

  it('a bad id, an empty or too long text, a bad recipient list', () => {
    const entry = (...rest: string[]): string => lines('announcements:', '  - cron: "0 9 * * *"', ...rest)
    expect(refusal(entry('    id: Stand_Up', '    text: hi')).message).toContain('announcements[0].id: "Stand_Up" is not an id: use 1 to 40 lowercase letters')
    expect(refusal(entry('    id: a', '    text: "  "')).message).toContain('announcements[0].text: is empty')
    expect(refusal(entry('    id: a', `    text: ${'x'.repeat(4001)}`)).message).toContain('announcements[0].text: is longer than 4000 characters')
    expect(parse(entry('    id: a', `    text: ${'x'.repeat(4000)}`)).announcements[0]?.text).toHaveLength(4000)
    expect(refusal(entry('    id: a', '    text: hi', '    to: []')).message).toContain('announcements[0].to: an empty list: leave `to` out to send to everyone')
    expect(refusal(entry('    id: a', '    text: hi', '    to: 5')).message).toContain('announcements[0].to: expected a channel name, "subscribers", or a list of them')
    expect(refusal(entry('    id: a', '    text: hi', '    to: [dev, "two words"]')).message).toContain('"two words" is not a channel name')
  })

  it('a feed with a URL that is not http(s), or a period out of bounds', () => {
    const feed = (...rest: string[]): string => lines('feeds:', '  - id: blog', ...rest)
    expect(refusal(feed('    url: ftp://example.org/feed.xml')).message).toContain('feeds[0].url: "ftp://example.org/feed.xml" is not an http or https URL')
    expect(refusal(feed('    url: example.org/feed.xml')).message).toContain('is not an http or https URL')
    const url = '    url: https://example.org/feed.xml'
    expect(refusal(feed(url, '    every: 30s'))).toMatchObject({ line: 4, column: 12 })
    expect(refusal(feed(url, '    every: 30s')).message).toContain('feeds[0].every: "30s": seconds are too fine')
    expect(refusal(feed(url, '    every: 8d')).message).toContain('feeds[0].every: "8d" is too long: at most 7d')
    expect(refusal(feed(url, '    every: 15')).message).toContain('feeds[0].every: expected a duration, like 15m or 1h')
    expect(parse(feed(url, '    every: 1m')).feeds[0]?.everyMs).toBe(60_000)
    expect(parse(feed(url, '    every: 7d')).feeds[0]?.everyMs).toBe(7 * 24 * 3_600_000)
  })

  it('a file that is not a mapping, or a list that is not a list', () => {
    expect(refusal(lines('- id: a')).message).toBe('announcements.yaml:1:1: expected a mapping (key: value), got a list')
    expect(refusal(lines('announcements: standup')).message).toBe('announcements.yaml:1:16: announcements: expected a list, got string standup')
  })

  it('several mistakes: all listed, the first in the file first', () => {
    const error = refusal(lines('announcements:', '  - id: a', '    text: hi', '    cron: "0 99 * * *"', '  - id: B', '    text: hi', '    cron: "* * * * *"'))
    expect(error).toMatchObject({ line: 4, column: 11 })
    expect(error.message.split('\n')).toEqual([
      expect.stringMatching(/^announcements\.yaml:4:11: announcements\[0\]\.cron: /),
      expect.stringMatching(/^announcements\.yaml:5:9: announcements\[1\]\.id: /)
    ])
  })

  it('an unknown default time zone is the caller\'s mistake, with no line', () => {
    const error = (() => { try { parseScheduleFile('', { path: 'a.yaml', defaultTimezone: 'Nowhere' }) } catch (e) { return e } })()
    expect(error).toBeInstanceOf(ScheduleFileError)
    expect(error).toMatchObject({ line: undefined, message: 'a.yaml: the default time zone: "Nowhere" is not a time zone (try Europe/Paris or UTC)' })
  })

  it('is a BertybotError with code ERR_SCHEDULE_FILE', () => {
    const error = refusal('- 1\n')
    expect(error).toBeInstanceOf(BertybotError)
    expect(error).toMatchObject({ code: 'ERR_SCHEDULE_FILE', name: 'ScheduleFileError' })
  })
})

describe('loadScheduleFile', () => {
  let dir: string
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'bertybot-schedule-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  it('reads a .yaml, .yml or .json file', async () => {
    for (const [name, text] of [['a.yaml', YAML], ['a.yml', YAML], ['a.json', JSON_FILE]] as const) {
      await writeFile(join(dir, name), text)
      expect(await loadScheduleFile(join(dir, name), { defaultTimezone: 'UTC' })).toEqual(EXPECTED)
    }
  })

  it('names the file and the line of a mistake', async () => {
    const path = join(dir, 'announcements.yaml')
    await writeFile(path, lines('announcements:', '  - id: a', '    text: hi', '    cron: "0 99 * * *"'))
    await expect(loadScheduleFile(path, { defaultTimezone: 'UTC' })).rejects.toMatchObject({ path, line: 4, message: expect.stringContaining(`${path}:4:11: `) })
  })

  it('says so, without a line, when the file does not exist', async () => {
    const path = join(dir, 'missing.yaml')
    const error = await loadScheduleFile(path, { defaultTimezone: 'UTC' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ScheduleFileError)
    expect(error).toMatchObject({ code: 'ERR_SCHEDULE_FILE', path, line: undefined, message: `${path}: cannot read the schedule file: there is no such file` })
  })

  it('says so when the path is a directory', async () => {
    const path = join(dir, 'dir.yaml')
    await mkdir(path)
    const error = await loadScheduleFile(path, { defaultTimezone: 'UTC' }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'ERR_SCHEDULE_FILE', line: undefined, message: expect.stringContaining(`${path}: cannot read the schedule file: EISDIR`) })
  })

  it('refuses other extensions, before reading', async () => {
    const path = join(dir, 'schedule.txt')
    await expect(loadScheduleFile(path, { defaultTimezone: 'UTC' })).rejects.toThrow(`${path}: a schedule file is .yaml, .yml or .json`)
  })
})

describe('the example schedule file', () => {
  it('is valid, and says what its comments say', async () => {
    const path = fileURLToPath(new URL('../../bots/announce/schedule.example.yaml', import.meta.url))
    expect(await loadScheduleFile(path, { defaultTimezone: 'UTC' })).toEqual({
      announcements: [
        { id: 'standup', text: 'Stand-up in 10 minutes, in the usual room.', timezone: 'Europe/Paris', to: ['dev', 'ops'], schedule: { kind: 'cron', expression: '50 8 * * 1-5' } },
        {
          id: 'weekly-digest',
          text: 'Have a good weekend!\nThe week\'s notes are in the wiki; send /unsubscribe to stop these messages.',
          timezone: 'Europe/Paris',
          to: ['subscribers'],
          schedule: { kind: 'cron', expression: '0 17 * * 5' }
        },
        // 09:00 in New York, not in the file's Paris nor in UTC.
        { id: 'launch', text: 'We launch today. Thank you all!', timezone: 'America/New_York', to: 'everyone', schedule: { kind: 'once', at: new Date('2026-12-01T14:00:00Z') } },
        { id: 'maintenance', text: 'The service is down for maintenance from 22:00 to 23:00 UTC.', timezone: 'Europe/Paris', to: 'everyone', schedule: { kind: 'once', at: new Date('2026-12-05T22:00:00Z') } }
      ],
      feeds: [
        { id: 'blog', url: 'https://example.org/blog/feed.xml', everyMs: undefined, to: 'everyone' },
        { id: 'status', url: 'https://status.example.org/history.rss', everyMs: 5 * 60_000, to: ['ops'] }
      ]
    } satisfies ScheduleFile)
  })
})
