/**
 * What the source adapters share at the edge: decoding the raw body, checking
 * it with a zod schema, and turning what is wrong into a PayloadProblem whose
 * `field` a sender's admin can find in the payload (`alerts[0].labels.severity`).
 */
import type { z } from 'zod'
import type { PayloadProblem, WebhookParseResult } from '../source.ts'

/** What a check gives: the value, or the problem to answer with. */
export type Checked<T> = { readonly ok: true, readonly value: T } | { readonly ok: false, readonly problem: PayloadProblem }

/** The largest message an adapter makes, in characters: beyond it the message is refused or cut. */
export const MAX_MESSAGE_CHARS = 32_000

/** A parse result for a problem. */
export function problem (field: string, why: string): WebhookParseResult & { ok: false } {
  return { ok: false, problem: { field, why } }
}

/** The body as UTF-8 text; a byte sequence that is not UTF-8 is a problem, not replacement characters. */
export function decodeUtf8 (body: Uint8Array, field = 'body'): Checked<string> {
  try {
    return { ok: true, value: new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body) }
  } catch {
    return { ok: false, problem: { field, why: 'is not valid UTF-8' } }
  }
}

/** Parses a JSON text; a syntax error is a problem with the parser's reason. */
export function parseJson (text: string, field = 'body'): Checked<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    return { ok: false, problem: { field, why: `is not valid JSON: ${reason}` } }
  }
}

/** Decodes and parses a JSON body. */
export function parseJsonBody (body: Uint8Array): Checked<unknown> {
  const text = decodeUtf8(body)
  return text.ok ? parseJson(text.value) : text
}

/** Checks a value against a schema; the first issue becomes the problem, its path prefixed with `prefix`. */
export function check<S extends z.ZodType> (schema: S, value: unknown, prefix: readonly PropertyKey[] = []): Checked<z.output<S>> {
  const result = schema.safeParse(value)
  if (result.success) return { ok: true, value: result.data }
  const issue = result.error.issues[0]
  if (issue === undefined) return { ok: false, problem: { field: formatPath(prefix), why: 'is not valid' } }
  const path = [...prefix, ...issue.path]
  return { ok: false, problem: { field: formatPath(path), why: describeIssue(issue, valueAt(value, issue.path)) } }
}

/** `alerts[0].labels.severity`; a key that is not a plain name is quoted: `labels["app.kubernetes.io/name"]`. The root is `body`. */
export function formatPath (path: readonly PropertyKey[]): string {
  let text = ''
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) text += text === '' ? key : `.${key}`
    else text += `[${JSON.stringify(String(key))}]`
  }
  return text === '' ? 'body' : text
}

function describeIssue (issue: z.core.$ZodIssue, value: unknown): string {
  const expected = issue.code === 'invalid_type'
    ? issue.expected
    : issue.code === 'invalid_value' ? issue.values.map((allowed) => JSON.stringify(allowed)).join(' or ') : undefined
  // zod says "received undefined" for a field that is not there: say that it is missing.
  if (expected !== undefined && value === undefined) return `is missing (expected ${expected})`
  if (issue.code === 'invalid_type') return `expected ${expected}, got ${kindOf(value)}`
  if (issue.code === 'invalid_value') return `expected ${expected}, got ${clip(JSON.stringify(value) ?? String(value), 60)}`
  return issue.message.replace(/^Invalid input: /, '')
}

function valueAt (value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined
    current = Object.hasOwn(current, key) ? (current as Record<PropertyKey, unknown>)[key] : undefined
  }
  return current
}

function kindOf (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}

/** The first non-empty line of a text, trimmed and cut to `max` characters. */
export function firstLine (text: string, max = 200): string {
  const line = text.split(/\r\n|\r|\n/).map((part) => part.trim()).find((part) => part !== '') ?? ''
  return clip(line, max)
}

/** Cuts a text to at most `max` characters (code points, so a pair is never split), ending with `…` when cut. */
export function clip (text: string, max: number): string {
  if (text.length <= max) return text
  const chars = Array.from(text)
  return chars.length <= max ? text : `${chars.slice(0, Math.max(0, max - 1)).join('').trimEnd()}…`
}

/** The number of characters (code points) of a text, counting no further than `limit + 1`. */
export function countChars (text: string, limit: number): number {
  if (text.length <= limit) return text.length
  let count = 0
  for (const _ of text) if (++count > limit) break
  return count
}
