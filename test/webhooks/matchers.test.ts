import { describe, expect, it } from 'vitest'
import {
  formatMatcher,
  formatMatchers,
  MatcherError,
  matchesLabels,
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

