import { describe, expect, it } from 'vitest'
import {
  DurationError,
  formatDuration,
  formatMatcher,
  formatMatchers,
  MatcherError,
  matchesLabels,
  parseDuration,
  parseMatcher,
  parseMatchers
} from '../../src/bridge/matchers.ts'

function matcherError (text: string, parse: (text: string) => unknown = parseMatcher): MatcherError {
  try {
    parse(text)
  } catch (error) {
    expect(error).toBeInstanceOf(MatcherError)
    expect((error as MatcherError).code).toBe('ERR_MATCHER')
    return error as MatcherError
  }
  throw new Error(`${text} was accepted`)
}

function durationError (text: string, options?: { maxMs?: number }): DurationError {
  try {
    parseDuration(text, options)
  } catch (error) {
    expect(error).toBeInstanceOf(DurationError)
    expect((error as DurationError).code).toBe('ERR_DURATION')
    return error as DurationError
  }
  throw new Error(`${text} was accepted`)
}

describe('parseMatcher', () => {
  it('reads the four operators, quoted and unquoted values, in the API v2 shape', () => {
    expect(parseMatcher('alertname="HighLatency"')).toEqual({ name: 'alertname', value: 'HighLatency', isRegex: false, isEqual: true })
    expect(parseMatcher('severity=~"crit.*"')).toEqual({ name: 'severity', value: 'crit.*', isRegex: true, isEqual: true })
    expect(parseMatcher('instance!="a:9100"')).toEqual({ name: 'instance', value: 'a:9100', isRegex: false, isEqual: false })
    expect(parseMatcher('job!~"x|y"')).toEqual({ name: 'job', value: 'x|y', isRegex: true, isEqual: false })
    expect(parseMatcher('severity=critical')).toEqual({ name: 'severity', value: 'critical', isRegex: false, isEqual: true })
    expect(parseMatcher('  env = "prod"  ')).toEqual({ name: 'env', value: 'prod', isRegex: false, isEqual: true })
    expect(parseMatcher('_private=""')).toEqual({ name: '_private', value: '', isRegex: false, isEqual: true })
  })

  it('reads escapes in quoted values as Alertmanager does', () => {
    expect(parseMatcher('summary="say \\"hi\\""').value).toBe('say "hi"')
    expect(parseMatcher('path="C:\\\\temp"').value).toBe('C:\\temp')
    expect(parseMatcher('text="two\\nlines"').value).toBe('two\nlines')
    // Not an escape: the backslash stays, so regexes read naturally.
    expect(parseMatcher('code=~"\\d+"').value).toBe('\\d+')
    expect(parseMatcher('msg="a, b and c"').value).toBe('a, b and c')
  })

  it('says which matcher is wrong and why', () => {
    expect(matcherError('1instance="a"').message).toBe('1instance="a": "1instance" is not a valid label name: letters, digits and underscores, not starting with a digit')
    expect(matcherError('foo-bar=x').message).toMatch(/"foo-bar" is not a valid label name/)
    expect(matcherError('alertname HighLatency').message).toBe('an operator is missing after "alertname": =, !=, =~ (regex) or !~ (not regex), as in severity="critical"')
    expect(matcherError('severity:critical').message).toMatch(/^an operator is missing after "severity:critical"/)
    expect(matcherError('severity==critical').message).toBe('severity==critical: == is not an operator: write severity="value" (or !=, =~, !~)')
    expect(matcherError('="x"').message).toBe('="x": a label name is missing before the operator (write it like severity="critical")')
    expect(matcherError('job=~"(x|y"').message).toBe('job=~"(x|y": "(x|y" is not a valid regular expression (Unterminated group)')
    expect(matcherError('job=~"[a-"').message).toMatch(/^job=~"\[a-": "\[a-" is not a valid regular expression/)
    expect(matcherError('job=~"(?=x)y"').message).toMatch(/uses a lookahead or lookbehind, which Alertmanager's regular expressions do not have$/)
    expect(matcherError('job=~"(a)\\1"').message).toMatch(/uses a backreference/)
    expect(matcherError('job="x').message).toBe('job="x: the value\'s closing double quote is missing')
    expect(matcherError('job="x"y').message).toMatch(/a double quote inside a value must be escaped/)
    expect(matcherError('job=x"y').message).toMatch(/must be quoted/)
    expect(matcherError('job=').message).toBe('job=: the value is missing after = (write job="" to match a label that is absent or empty)')
    expect(matcherError('').message).toBe('a matcher is missing (write it like severity="critical")')
    expect(matcherError('a=b c=d').message).toMatch(/more than one matcher/)
    expect(matcherError('1instance="a"').matcher).toBe('1instance="a"')
  })

  it('accepts regexes both sides read alike, including a leading (?i)', () => {
    expect(parseMatcher('severity=~"(?i)CRIT.*"').value).toBe('(?i)CRIT.*')
    expect(parseMatcher('x=~"[(?=]"').value).toBe('[(?=]') // in a class these are plain characters
    // The regex \\1 (a backslash, then 1), typed "\\\\1" as quotes unescape: not a backreference.
    expect(parseMatcher('x=~"\\\\\\\\1"').value).toBe('\\\\1')
  })
})

describe('parseMatchers', () => {
  it('reads lists separated by spaces or commas, in braces or not', () => {
    const expected = [
      { name: 'alertname', value: 'X', isRegex: false, isEqual: true },
      { name: 'severity', value: 'crit.*', isRegex: true, isEqual: true }
    ]
    expect(parseMatchers('{alertname="X", severity=~"crit.*"}')).toEqual(expected)
    expect(parseMatchers('alertname=X severity=~crit.*')).toEqual(expected)
    expect(parseMatchers('alertname="X",severity=~"crit.*"')).toEqual(expected)
    expect(parseMatchers('  alertname = X ,  severity =~ "crit.*" ')).toEqual(expected)
  })

  it('refuses an empty list, an unclosed brace, and names the wrong matcher', () => {
    expect(matcherError('', parseMatchers).message).toMatch(/^no matcher given/)
    expect(matcherError('{}', parseMatchers).message).toMatch(/^no matcher given/)
    expect(matcherError('{a="b"', parseMatchers).message).toBe('{a="b": the closing brace is missing')
    expect(matcherError('a="b", 2c="d", e="f"', parseMatchers).message).toMatch(/^2c="d": "2c" is not a valid label name/)
  })
})

describe('formatMatchers', () => {
  it('prints matchers as Alertmanager does, and reads back what it prints', () => {
    const matchers = parseMatchers('alertname=HighLatency severity=~"crit.*" instance!="a:9100" job!~"x|y"')
    expect(formatMatchers(matchers)).toBe('{alertname="HighLatency", severity=~"crit.*", instance!="a:9100", job!~"x|y"}')
    expect(parseMatchers(formatMatchers(matchers))).toEqual(matchers)
    for (const value of ['say "hi"', 'C:\\temp\\', '\\d+', 'a\\\\d', 'two\nlines', 'back\\"slash', 'a\\nb']) {
      const matcher = { name: 'x', value, isRegex: false, isEqual: true }
      expect(parseMatcher(formatMatcher(matcher))).toEqual(matcher)
    }
    expect(formatMatcher({ name: 'code', value: '\\d+', isRegex: true, isEqual: true })).toBe('code=~"\\d+"')
  })
})

describe('matchesLabels', () => {
  const labels = { alertname: 'HighLatency', severity: 'critical', instance: 'a:9100', job: 'api' }

  it('matches as Alertmanager routes: all matchers, anchored regexes, absent labels as empty', () => {
    expect(matchesLabels(parseMatchers('severity=critical'), labels)).toBe(true)
    expect(matchesLabels(parseMatchers('severity=~"crit.*" job!~"x|y"'), labels)).toBe(true)
    expect(matchesLabels(parseMatchers('severity=~"crit"'), labels)).toBe(false) // anchored: the whole value
    expect(matchesLabels(parseMatchers('severity=~"crit|critical"'), labels)).toBe(true) // ^(?:crit|critical)$
    expect(matchesLabels(parseMatchers('instance!="a:9100"'), labels)).toBe(false)
    expect(matchesLabels(parseMatchers('job!~"api|web"'), labels)).toBe(false)
    expect(matchesLabels(parseMatchers('team=""'), labels)).toBe(true)
    expect(matchesLabels(parseMatchers('team!=""'), labels)).toBe(false)
    expect(matchesLabels(parseMatchers('team=~".*"'), labels)).toBe(true)
    expect(matchesLabels(parseMatchers('severity=critical team=ops'), labels)).toBe(false)
    expect(matchesLabels(parseMatchers('severity=~"(?i)CRITICAL"'), labels)).toBe(true)
    expect(matchesLabels(parseMatchers('toString=""'), labels)).toBe(true) // not the object's prototype
    expect(matchesLabels([], labels)).toBe(true)
  })
})

describe('parseDuration', () => {
  it('reads durations in milliseconds', () => {
    expect(parseDuration('1h')).toBe(3_600_000)
    expect(parseDuration('30m')).toBe(1_800_000)
    expect(parseDuration('2d')).toBe(172_800_000)
    expect(parseDuration('1h30m')).toBe(5_400_000)
    expect(parseDuration('1h 30m')).toBe(5_400_000)
    expect(parseDuration('90s')).toBe(90_000)
    expect(parseDuration('1w')).toBe(604_800_000)
    expect(parseDuration('1w2d3h4m5s')).toBe(((9 * 24 + 3) * 60 + 4) * 60_000 + 5000)
    expect(parseDuration(' 2H ')).toBe(7_200_000)
    expect(parseDuration('365d')).toBe(365 * 86_400_000)
    expect(parseDuration('1y')).toBe(365 * 86_400_000)
  })

  it('refuses zero, negative, fractional, unitless, garbage and too long, saying how to write one', () => {
    expect(durationError('0s').message).toBe('"0s": a duration must be longer than zero')
    expect(durationError('0h0m').message).toBe('"0h0m": a duration must be longer than zero')
    expect(durationError('-1h').message).toBe('"-1h": a duration cannot be negative')
    expect(durationError('1.5h').message).toBe('"1.5h": use whole numbers, as in 1h30m rather than 1.5h')
    expect(durationError('30').message).toBe('"30" has no unit: write 30m for minutes, 30h for hours or 30d for days')
    expect(durationError('soon').message).toBe('"soon" is not a duration: write it like 30m, 1h, 1h30m, 2d or 1w (units: w d h m s)')
    expect(durationError('30m1h').message).toMatch(/^"30m1h" is not a duration/)
    expect(durationError('1h1h').message).toMatch(/^"1h1h" is not a duration/)
    expect(durationError('1 hour').message).toMatch(/is not a duration/)
    expect(durationError('').message).toMatch(/^a duration is missing: write it like/)
    expect(durationError('366d').message).toBe('"366d" is too long: at most a year (365d)')
    expect(durationError('99999999999999999999w').message).toMatch(/is too long/)
    expect(durationError('3h', { maxMs: 7_200_000 }).message).toBe('"3h" is too long: at most 2h')
    expect(durationError('soon').input).toBe('soon')
  })

  it('formats durations back', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m')
    expect(formatDuration(90_000)).toBe('1m30s')
    expect(formatDuration(172_800_000)).toBe('2d')
    expect(formatDuration(0)).toBe('0s')
    expect(formatDuration(1500)).toBe('1s')
    expect(parseDuration(formatDuration(93_784_000))).toBe(93_784_000)
  })
})
