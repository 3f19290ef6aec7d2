/**
 * Declarative files (a schedule, routes, ...) in YAML or JSON, checked with a
 * zod schema: a bot's deployment says what it does in a file kept in a
 * repository and mounted into its container.
 *
 * Every mistake is reported at its line and column, because whoever fixes it
 * reads a deploy log, not the code: YAML syntax errors where the parser stopped,
 * schema errors at the node the zod issue's path leads to. All the problems of a
 * file are reported at once, in the order of the file, so that one deploy
 * fixes them all. Objects made with {@link strictObject} refuse unknown keys: a
 * typo like `txt:` must not silently drop the text.
 *
 * A file is read with YAML's core schema, in which `at: 2026-12-01T09:00` is a
 * string (YAML 1.1 would make it a timestamp in UTC). JSON is read by the same
 * parser (JSON is YAML), so both get the same messages, and duplicate keys are
 * refused in both.
 */
import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import { closest, distance } from 'fastest-levenshtein'
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml'
import { z } from 'zod'
import { BertybotError } from '../protocol/index.ts'

/** A position in a file, both 1-based. */
export interface FilePosition {
  line: number
  column: number
}

/**
 * A declarative file cannot be read or is wrong; `line` and `column` (1-based)
 * point at the fault when known. The message is `path:line:column: problem`,
 * and each further problem is a line of the same form. A file of one kind may
 * have an error class of its own: a subclass passing its own `code`.
 */
export class ConfigFileError extends BertybotError {
  readonly path: string
  readonly line?: number
  readonly column?: number
  /** The message without the file and position in front of it. */
  readonly problem: string

  constructor (path: string, problem: string, at?: FilePosition, options?: ErrorOptions & { code?: string }) {
    super(options?.code ?? 'ERR_CONFIG_FILE', `${path}${at === undefined ? '' : `:${at.line}:${at.column}`}: ${problem}`, options)
    this.path = path
    this.line = at?.line
    this.column = at?.column
    this.problem = problem
  }
}

const messageOf = (error: unknown): string => error instanceof Error ? error.message : String(error)

/**
 * A check or conversion that throws, made a refinement or transform: what it
 * throws becomes an issue on the field's path.
 *
 * @example z.string().superRefine(guarded((url: string) => { new URL(url) }))
 */
export const guarded = <T, U>(convert: (value: T) => U) => (value: T, ctx: z.RefinementCtx): U => {
  try {
    return convert(value)
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: messageOf(error) })
    return z.NEVER
  }
}

/** An object that refuses unknown keys, naming the known ones (and the likely one, for a typo). */
export function strictObject<Shape extends z.ZodRawShape> (shape: Shape): z.ZodObject<Shape, z.core.$strict> {
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

/** Messages for zod's generic issues, in the words of someone editing the file. */
const NAMES: Record<string, string> = { object: 'a mapping (key: value)', array: 'a list', string: 'text' }

function describeIssue (issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== 'invalid_type') return undefined
  if (issue.input === undefined) return 'required, but missing'
  const got = issue.input === null ? 'nothing' : Array.isArray(issue.input) ? 'a list' : typeof issue.input === 'object' ? 'a mapping' : `${typeof issue.input} ${String(issue.input)}`
  return `expected ${NAMES[issue.expected] ?? issue.expected}, got ${got}`
}

/**
 * Parses a file's text (YAML or JSON) and checks it with `schema`; an empty
 * file is an empty mapping. `path` names the file in messages.
 *
 * @throws {ConfigFileError} with every problem: the first at `line` and `column`,
 * the others as further `path:line:column: problem` lines of the message.
 */
export function parseConfigFile<S extends z.ZodType> (text: string, schema: S, options: { path: string }): z.output<S> {
  const { path } = options
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false })
  const problems = doc.errors.map((e) => ({ offset: e.pos[0], message: e.message }))
  if (problems.length === 0) {
    const result = schema.safeParse(doc.toJS() ?? {}, { error: describeIssue })
    if (result.success) return result.data
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
  throw new ConfigFileError(path, `${first?.message ?? 'invalid'}${more}`, first?.at)
}

/**
 * Reads a .yaml, .yml or .json file and parses it; see {@link parseConfigFile}.
 * `what` names the kind of file in messages ("schedule file": "cannot read the
 * schedule file: there is no such file").
 *
 * @throws {ConfigFileError} when the extension is another, the file cannot be read, or it is wrong.
 */
export async function loadConfigFile<S extends z.ZodType> (path: string, schema: S, options: { what: string }): Promise<z.output<S>> {
  const { what } = options
  if (!['.yaml', '.yml', '.json'].includes(extname(path).toLowerCase())) {
    throw new ConfigFileError(path, `a ${what} is .yaml, .yml or .json`)
  }
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? error.code : undefined
    const why = code === 'ENOENT' ? 'there is no such file' : code === 'EACCES' ? 'permission denied' : messageOf(error)
    throw new ConfigFileError(path, `cannot read the ${what}: ${why}`, undefined, { cause: error })
  }
  return parseConfigFile(text, schema, { path })
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
