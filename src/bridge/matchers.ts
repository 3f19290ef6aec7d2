/**
 * Alertmanager label matchers and silence durations, as people type them in
 * a chat: `alertname="HighLatency"`, `severity=~"crit.*"`,
 * `instance!="a:9100"`, `job!~"x|y"`, `severity=critical`; `1h30m`, `2d`.
 *
 * Matchers are read the way Alertmanager reads them (its `labels.ParseMatcher`:
 * in a quoted value `\"`, `\\` and `\n` are escapes and any other backslash is
 * kept as it is, so `"\d+"` is the regex `\d+`) and come out in the shape of
 * its HTTP API v2. A regex matches the whole value, as Alertmanager anchors it:
 * `^(?:re)$`. Errors say which matcher is wrong and why, for the chat.
 */
import { BertybotError } from '../protocol/index.ts'

/** A label matcher in Alertmanager's API v2 shape: `name!~"value"` is `{ isRegex: true, isEqual: false }`. */
export interface Matcher {
  readonly name: string
  readonly value: string
  readonly isRegex: boolean
  readonly isEqual: boolean
}

/** A matcher someone typed is wrong; `matcher` is the text of it, the message says why. */
export class MatcherError extends BertybotError {
  readonly matcher: string

  /** `why` is prefixed with the matcher's text unless `named` says it already names it. */
  constructor (matcher: string, why: string, named = false) {
    super('ERR_MATCHER', matcher === '' || named ? why : `${matcher}: ${why}`)
    this.matcher = matcher
  }
}

/** Prometheus label names: letters, digits and underscores, not starting with a digit. */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

const OPERATORS = ['=~', '!~', '!=', '='] as const
type Operator = typeof OPERATORS[number]

function operatorOf (matcher: Pick<Matcher, 'isRegex' | 'isEqual'>): Operator {
  if (matcher.isRegex) return matcher.isEqual ? '=~' : '!~'
  return matcher.isEqual ? '=' : '!='
}

const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c)

/** Reads matchers from `text` starting at `start`; each ends at whitespace or a comma outside quotes. */
class Scanner {
  readonly text: string
  #pos = 0

  constructor (text: string) {
    this.text = text
  }

  get done (): boolean {
    return this.#pos >= this.text.length
  }

  /** Skips whitespace and, when `commas`, the commas between matchers. */
  skipSeparators (commas: boolean): void {
    while (!this.done) {
      const c = this.text[this.#pos]
      if (isSpace(c) || (commas && c === ',')) this.#pos++
      else break
    }
  }

  /** The text from `start` to the end of the current matcher, for messages. */
  #word (start: number): string {
    let end = this.#pos
    let quoted = false
    while (end < this.text.length) {
      const c = this.text[end]
      if (quoted && c === '\\') end++
      else if (c === '"') quoted = !quoted
      else if (!quoted && (isSpace(c) || c === ',')) break
      end++
    }
    return this.text.slice(start, Math.min(end, this.text.length)).trim()
  }

  matcher (): Matcher {
    const text = this.text
    const start = this.#pos
    while (!this.done && !'=!~,"'.includes(text[this.#pos]!) && !isSpace(text[this.#pos])) this.#pos++
    const name = text.slice(start, this.#pos)
    if (name === '') {
      throw new MatcherError(this.#word(start), 'a label name is missing before the operator (write it like severity="critical")')
    }
    const afterName = this.#pos
    while (isSpace(text[this.#pos])) this.#pos++
    const operator = OPERATORS.find((op) => text.startsWith(op, this.#pos))
    if (operator === undefined) {
      this.#pos = afterName
      throw new MatcherError(this.#word(start), `an operator is missing after "${name}": =, !=, =~ (regex) or !~ (not regex), as in severity="critical"`, true)
    }
    if (!LABEL_NAME.test(name)) {
      this.#pos = afterName
      throw new MatcherError(this.#word(start), `"${name}" is not a valid label name: letters, digits and underscores, not starting with a digit`)
    }
    this.#pos += operator.length
    if (operator === '=' && text[this.#pos] === '=') {
      throw new MatcherError(this.#word(start), `== is not an operator: write ${name}="value" (or !=, =~, !~)`)
    }
    while (isSpace(text[this.#pos])) this.#pos++
    const value = text[this.#pos] === '"' ? this.#quoted(start) : this.#unquoted(start, name, operator)
    const matcher: Matcher = { name, value, isRegex: operator.endsWith('~'), isEqual: !operator.startsWith('!') }
    if (matcher.isRegex) {
      const problem = regexProblem(value)
      if (problem !== undefined) throw new MatcherError(text.slice(start, this.#pos).trim(), problem)
    }
    return matcher
  }

  #quoted (start: number): string {
    const text = this.text
    this.#pos++ // the opening quote
    let value = ''
    while (this.#pos < text.length) {
      const c = text[this.#pos]!
      if (c === '"') {
        this.#pos++
        const next = text[this.#pos]
        if (next !== undefined && !isSpace(next) && next !== ',') {
          throw new MatcherError(this.#word(start), 'a double quote inside a value must be escaped as \\"')
        }
        return value
      }
      if (c === '\\' && this.#pos + 1 < text.length) {
        const next = text[this.#pos + 1]!
        this.#pos += 2
        if (next === 'n') value += '\n'
        else if (next === '"' || next === '\\') value += next
        else value += '\\' + next // not an escape: kept as it is (a regex's \d)
        continue
      }
      value += c
      this.#pos++
    }
    throw new MatcherError(text.slice(start).trim(), 'the value\'s closing double quote is missing')
  }

  #unquoted (start: number, name: string, operator: Operator): string {
    const text = this.text
    const from = this.#pos
    while (!this.done && !isSpace(text[this.#pos]) && text[this.#pos] !== ',') {
      if (text[this.#pos] === '"') {
        throw new MatcherError(this.#word(start), 'a value with a double quote in it must be quoted, the quote escaped as \\"')
      }
      this.#pos++
    }
    const value = text.slice(from, this.#pos)
    if (value === '') {
      throw new MatcherError(text.slice(start, this.#pos).trim(), `the value is missing after ${operator} (write ${name}${operator}"" to match a label that is absent or empty)`)
    }
    return value
  }
}

/**
 * Parses one matcher: `alertname="HighLatency"`, `severity=~"crit.*"`,
 * `instance!="a:9100"`, `job!~"x|y"`, `severity=critical`.
 * @throws MatcherError saying what is wrong with it
 */
export function parseMatcher (text: string): Matcher {
  const scanner = new Scanner(text)
  scanner.skipSeparators(false)
  if (scanner.done) throw new MatcherError('', 'a matcher is missing (write it like severity="critical")')
  const matcher = scanner.matcher()
  scanner.skipSeparators(false)
  if (!scanner.done) {
    throw new MatcherError(text.trim(), 'this is more than one matcher (a value with spaces or commas must be quoted)')
  }
  return matcher
}

/**
 * Parses a list of matchers separated by spaces or commas, optionally in
 * braces as Alertmanager prints them: `{alertname="X", severity=~"crit.*"}`,
 * `alertname=X severity!=info`. An empty list is refused.
 * @throws MatcherError naming the first wrong matcher
 */
export function parseMatchers (text: string): Matcher[] {
  let body = text.trim()
  if (body.startsWith('{')) {
    if (!body.endsWith('}')) throw new MatcherError(body, 'the closing brace is missing')
    body = body.slice(1, -1)
  }
  const scanner = new Scanner(body)
  const matchers: Matcher[] = []
  scanner.skipSeparators(true)
  while (!scanner.done) {
    matchers.push(scanner.matcher())
    scanner.skipSeparators(true)
  }
  if (matchers.length === 0) throw new MatcherError('', 'no matcher given (write one like severity="critical")')
  return matchers
}

/**
 * A value in double quotes, read back the same by `parseMatcher` and by
 * Alertmanager; a backslash is doubled only where it would read as an escape,
 * so a regex's `\d` stays `\d`.
 */
function quote (value: string): string {
  let out = '"'
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!
    if (c === '"') out += '\\"'
    else if (c === '\n') out += '\\n'
    else if (c === '\\') {
      const next = value[i + 1]
      out += next === undefined || next === '"' || next === '\\' || next === 'n' ? '\\\\' : '\\'
    } else out += c
  }
  return out + '"'
}

/** `severity=~"crit.*"` */
export function formatMatcher (matcher: Matcher): string {
  return `${matcher.name}${operatorOf(matcher)}${quote(matcher.value)}`
}

/** `{alertname="HighLatency", severity=~"crit.*"}` */
export function formatMatchers (matchers: readonly Matcher[]): string {
  return `{${matchers.map(formatMatcher).join(', ')}}`
}

/**
 * Go's regex flags at the start of a pattern (`(?i)crit`), which JavaScript
 * has as flags of the whole expression: only `i` and `s` mean the same in both.
 */
function jsRegex (pattern: string): RegExp {
  const flags = /^\(\?([is]+)\)/.exec(pattern)
  const body = flags === null ? pattern : pattern.slice(flags[0].length)
  return new RegExp(`^(?:${body})$`, flags === null ? '' : [...new Set(flags[1])].join(''))
}

/**
 * What keeps `pattern` from being a regex Alertmanager (Go's RE2) and this
 * module both read the same way, or undefined if nothing does.
 */
function regexProblem (pattern: string): string | undefined {
  try {
    jsRegex(pattern)
  } catch (error) {
    const detail = error instanceof Error ? error.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '') : String(error)
    return `"${pattern}" is not a valid regular expression (${detail})`
  }
  // RE2 has no lookaround and no backreferences; JavaScript would accept them.
  let inClass = false
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '\\') {
      const next = pattern[i + 1] ?? ''
      if (!inClass && (/[1-9]/.test(next) || (next === 'k' && pattern[i + 2] === '<'))) {
        return `"${pattern}" uses a backreference (\\${next}), which Alertmanager's regular expressions do not have`
      }
      i++
    } else if (inClass) {
      if (c === ']') inClass = false
    } else if (c === '[') {
      inClass = true
      if (pattern[i + 1] === ']') i++ // a leading ] is a literal
    } else if (c === '(' && /^\(\?<?[=!]/.test(pattern.slice(i, i + 4))) {
      return `"${pattern}" uses a lookahead or lookbehind, which Alertmanager's regular expressions do not have`
    }
  }
  return undefined
}

const compiled = new Map<string, RegExp>()

function cachedRegex (pattern: string): RegExp {
  let re = compiled.get(pattern)
  if (re === undefined) {
    re = jsRegex(pattern)
    if (compiled.size >= 500) compiled.delete(compiled.keys().next().value!)
    compiled.set(pattern, re)
  }
  return re
}

/**
 * Whether an alert's labels satisfy every matcher, as Alertmanager decides
 * it: a label the alert does not have counts as the empty string, a regex
 * must match the whole value.
 */
export function matchesLabels (matchers: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  return matchers.every((matcher) => {
    const value = Object.hasOwn(labels, matcher.name) ? labels[matcher.name] ?? '' : ''
    const equal = matcher.isRegex ? cachedRegex(matcher.value).test(value) : value === matcher.value
    return equal === matcher.isEqual
  })
}

/** The longest silence: one year. */
export const MAX_SILENCE_DURATION_MS = 365 * 24 * 3_600_000
