import { describe, expect, it } from 'vitest'
import type { WebhookParseResult, WebhookRouteInfo } from '../../src/bridge/source.ts'
import { genericSource } from '../../src/bridge/sources/index.ts'

const generic = genericSource()
const route: WebhookRouteInfo = { name: 'jobs' }

function parse (body: string | Buffer, contentType: string, options: { route?: WebhookRouteInfo, headers?: Record<string, string> } = {}): WebhookParseResult {
  return generic.parse({ body: typeof body === 'string' ? Buffer.from(body) : body, contentType, headers: options.headers ?? {} }, options.route ?? route)
}

function text (result: WebhookParseResult): string | undefined {
  return result.ok ? result.notifications[0]?.text : `refused: ${result.problem.field} ${result.problem.why}`
}

describe('generic source: text', () => {
  it('posts a text body as it is, trimmed, its first line the headline', () => {
    const result = parse('\n  Backup finished: 12 GB in 4 min\nnext run at 03:00\n\n', 'text/plain')
    expect(result).toEqual({
      ok: true,
      notifications: [{ text: 'Backup finished: 12 GB in 4 min\nnext run at 03:00', headline: 'Backup finished: 12 GB in 4 min', severity: undefined, alerts: [] }],
      deliveryId: undefined
    })
  })

  it('reads what `curl -d` sends (labelled a form) as the text', () => {
    expect(text(parse('backup done', 'application/x-www-form-urlencoded'))).toBe('backup done')
  })

  it('refuses text that is not UTF-8, empty, or too long', () => {
    expect(parse(Buffer.from([0x48, 0x69, 0x20, 0xc3, 0x28]), 'text/plain')).toEqual({ ok: false, problem: { field: 'body', why: 'is not valid UTF-8' } })
    expect(parse(' \n\t ', 'text/plain')).toEqual({ ok: false, problem: { field: 'body', why: 'is empty' } })
    expect(parse('', 'text/plain')).toEqual({ ok: false, problem: { field: 'body', why: 'is empty' } })
    expect(parse('x'.repeat(32_001), 'text/plain')).toEqual({ ok: false, problem: { field: 'body', why: 'is longer than 32000 characters' } })
    expect(text(parse('x'.repeat(32_000), 'text/plain'))).toHaveLength(32_000)
    // Characters, not UTF-16 units: 32000 emoji are 64000 units.
    expect(parse('🔥'.repeat(32_000), 'text/plain').ok).toBe(true)
    expect(text(parse('Grüße, 東京 ✅', 'text/plain'))).toBe('Grüße, 東京 ✅')
  })
})

describe('generic source: JSON', () => {
  it('posts text under its title, with the severity in front', () => {
    const result = parse(JSON.stringify({ title: 'Nightly backup', text: 'failed: disk full on /srv', severity: 'critical', host: 'db-1' }), 'application/json')
    expect(text(result)).toBe('[critical] Nightly backup\nfailed: disk full on /srv')
    expect(result.ok && result.notifications[0]).toMatchObject({ headline: '[critical] Nightly backup', severity: 'critical', alerts: [] })
    expect(text(parse(JSON.stringify({ text: 'deploy done' }), 'application/json'))).toBe('deploy done')
    expect(text(parse(JSON.stringify({ text: 'deploy done', severity: 'info' }), 'application/json'))).toBe('[info] deploy done')
  })

  it('refuses JSON without a text, naming the field', () => {
    expect(parse('{"text": ', 'application/json')).toMatchObject({ ok: false, problem: { field: 'body', why: expect.stringMatching(/^is not valid JSON: /) } })
    expect(parse(JSON.stringify({ title: 'no text' }), 'application/json')).toEqual({ ok: false, problem: { field: 'text', why: 'is missing (expected string)' } })
    expect(parse(JSON.stringify({ text: 42 }), 'application/json')).toEqual({ ok: false, problem: { field: 'text', why: 'expected string, got number' } })
    expect(parse(JSON.stringify({ text: '   ' }), 'application/json')).toEqual({ ok: false, problem: { field: 'text', why: 'is empty' } })
    expect(parse(JSON.stringify({ text: 'x', severity: ['high'] }), 'application/json')).toEqual({ ok: false, problem: { field: 'severity', why: 'expected string, got array' } })
    expect(parse(JSON.stringify(['text']), 'application/json')).toEqual({ ok: false, problem: { field: 'body', why: 'expected object, got array' } })
    expect(parse(JSON.stringify({ text: 'y'.repeat(32_001) }), 'application/json')).toEqual({ ok: false, problem: { field: 'text', why: 'is longer than 32000 characters' } })
  })

  it('renders any JSON with the route\'s Mustache template, as plain text', () => {
    const templated = { name: 'jobs', template: '{{job.name}} {{status}} on {{#hosts}}{{.}} {{/hosts}}\n{{{note}}} {{note}}' }
    const payload = { job: { name: 'backup' }, status: 'failed', hosts: ['db-1', 'db-2'], note: '<disk> & "quota"' }
    expect(text(parse(JSON.stringify(payload), 'application/json', { route: templated })))
      .toBe('backup failed on db-1 db-2 \n<disk> & "quota" <disk> & "quota"')
    // The text schema does not apply: a payload of any shape, an array too.
    expect(text(parse(JSON.stringify([{ id: 1 }, { id: 2 }]), 'application/json', { route: { name: 'jobs', template: 'ids:{{#.}} {{id}}{{/.}}' } }))).toBe('ids: 1 2')
  })

  it('refuses a template that renders nothing, or cannot render', () => {
    const templated = { name: 'jobs', template: '{{missing}}  {{#none}}x{{/none}}' }
    expect(parse(JSON.stringify({ text: 'ignored' }), 'application/json', { route: templated }))
      .toEqual({ ok: false, problem: { field: 'template', why: 'rendered to an empty message' } })
    expect(parse('{}', 'application/json', { route: { name: 'jobs', template: '{{#open}} never closed' } }))
      .toMatchObject({ ok: false, problem: { field: 'template', why: expect.stringMatching(/^cannot be rendered: /) } })
    expect(parse('"a string"', 'application/json', { route: { name: 'jobs', template: '{{.}}' } }))
      .toEqual({ ok: false, problem: { field: 'body', why: 'expected a JSON object or array for the template' } })
    expect(parse(JSON.stringify({ s: 'z'.repeat(32_001) }), 'application/json', { route: { name: 'jobs', template: '{{s}}' } }))
      .toEqual({ ok: false, problem: { field: 'template', why: 'is longer than 32000 characters' } })
  })
})

describe('generic source: Idempotency-Key', () => {
  it('becomes the delivery id', () => {
    expect(parse('done', 'text/plain', { headers: { 'idempotency-key': 'backup-2026-11-25' } })).toMatchObject({ ok: true, deliveryId: 'backup-2026-11-25' })
  })

  it('is refused when too long or not printable', () => {
    const refused = { ok: false, problem: { field: 'Idempotency-Key', why: 'header must be 1 to 200 printable ASCII characters' } }
    expect(parse('done', 'text/plain', { headers: { 'idempotency-key': 'k'.repeat(201) } })).toEqual(refused)
    expect(parse('done', 'text/plain', { headers: { 'idempotency-key': 'a\u0000b' } })).toEqual(refused)
    expect(parse('done', 'text/plain', { headers: { 'idempotency-key': '' } })).toEqual(refused)
    expect(parse('done', 'text/plain', { headers: { 'idempotency-key': 'k'.repeat(200) } }).ok).toBe(true)
  })
})
