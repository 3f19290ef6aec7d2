/**
 * Anything that can post text or JSON: a cron job's `curl`, a CI step, a
 * service with a configurable webhook. The message is the text body; or the
 * JSON's `text` (with its `title` and `severity`); or, when the route has a
 * Mustache template, the template rendered with the JSON, whatever its shape.
 *
 * @example
 * // curl -H 'Authorization: Bearer <secret>' -d 'Backup finished' https://bot.example/hooks/generic/ops
 */
import Mustache from 'mustache'
import { z } from 'zod'
import type { Notification, WebhookSource } from '../source.ts'
import { check, clip, countChars, decodeUtf8, firstLine, MAX_MESSAGE_CHARS, parseJson, problem, type Checked } from './payload.ts'

const nonBlank = z.string().refine((text) => text.trim() !== '', 'is empty')
const message = z.looseObject({
  text: nonBlank,
  title: z.string().optional(),
  severity: z.string().max(40).optional()
})

/**
 * Bodies taken as the message's text: `text/plain`, and what `curl -d` sends
 * (it labels any data a form), so that the shortest curl line works.
 */
const TEXT_TYPES: readonly string[] = ['text/plain', 'application/x-www-form-urlencoded']

/** Printable ASCII, as the Idempotency-Key draft and our outbox keys expect. */
const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,200}$/

export function genericSource (): WebhookSource {
  return {
    kind: 'generic',
    auth: 'bearer',
    contentTypes: ['application/json', ...TEXT_TYPES],
    parse: (request, route) => {
      const key = request.headers['idempotency-key']
      if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
        return problem('Idempotency-Key', 'header must be 1 to 200 printable ASCII characters')
      }
      const text = decodeUtf8(request.body)
      if (!text.ok) return text
      const plain = TEXT_TYPES.includes(request.contentType)
      const rendered = plain
        ? { ok: true as const, value: { text: text.value } }
        : fromJson(text.value, route.template)
      if (!rendered.ok) return rendered
      const body = rendered.value.text.trim()
      if (body === '') return route.template !== undefined && !plain ? problem('template', 'rendered to an empty message') : problem('body', 'is empty')
      if (countChars(body, MAX_MESSAGE_CHARS) > MAX_MESSAGE_CHARS) {
        return problem(rendered.value.field ?? 'body', `is longer than ${MAX_MESSAGE_CHARS} characters`)
      }
      const notification: Notification = {
        text: body,
        headline: firstLine(body),
        severity: rendered.value.severity,
        alerts: []
      }
      return { ok: true, notifications: [notification], deliveryId: key?.trim() === '' ? undefined : key }
    }
  }
}

interface Rendered { text: string, severity?: string | undefined, field?: string }

function fromJson (text: string, template: string | undefined): Checked<Rendered> {
  const json = parseJson(text)
  if (!json.ok) return json
  if (template !== undefined) {
    if (json.value === null || typeof json.value !== 'object') return problem('body', 'expected a JSON object or array for the template')
    try {
      // Plain text, not HTML: values go in as they are.
      return { ok: true, value: { text: Mustache.render(template, json.value, {}, { escape: String }), field: 'template' } }
    } catch (error) {
      return problem('template', `cannot be rendered: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  const checked = check(message, json.value)
  if (!checked.ok) return checked
  const { title, severity } = checked.value
  const head = title === undefined || title.trim() === '' ? undefined : clip(title.trim().replace(/\s+/g, ' '), 200)
  const tag = severity === undefined || severity.trim() === '' ? undefined : severity.trim()
  const prefix = tag === undefined ? '' : `[${tag}] `
  const body = checked.value.text.trim()
  return { ok: true, value: { text: head === undefined ? `${prefix}${body}` : `${prefix}${head}\n${body}`, severity: tag, field: 'text' } }
}
