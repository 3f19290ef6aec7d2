import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { Notification, WebhookParseResult, WebhookRequest, WebhookSource } from '../../src/bridge/source.ts'
import { alertmanagerSource, defaultSources, grafanaSource } from '../../src/bridge/sources/index.ts'

type Json = Record<string, any>

const fixture = (name: string): Json => JSON.parse(readFileSync(new URL(`../fixtures/webhooks/${name}.json`, import.meta.url), 'utf8')) as Json
const request = (body: string | Buffer, contentType = 'application/json'): WebhookRequest =>
  ({ body: typeof body === 'string' ? Buffer.from(body) : body, contentType, headers: {} })
const route = { name: 'ops' }

function parse (source: WebhookSource, payload: unknown): WebhookParseResult {
  return source.parse(request(JSON.stringify(payload)), route)
}

function notification (source: WebhookSource, payload: unknown): Notification {
  const result = parse(source, payload)
  if (!result.ok) throw new Error(`refused: ${result.problem.field} ${result.problem.why}`)
  expect(result.notifications).toHaveLength(1)
  return result.notifications[0] as Notification
}

function problemOf (source: WebhookSource, body: string | Buffer): { field: string, why: string } {
  const result = source.parse(request(body), route)
  if (result.ok) throw new Error('accepted')
  return result.problem
}

const alertmanager = alertmanagerSource()
const grafana = grafanaSource()
const silence = (labels: string): string =>
  `http://alertmanager.example.org:9093/#/silences/new?filter=${encodeURIComponent(`{${labels}}`)}`

describe('alertmanager source', () => {
  it('posts one notification for the group, naming each alert by the label that differs', () => {
    const firing = notification(alertmanager, fixture('alertmanager-firing'))
    expect(firing.headline).toBe('[FIRING:3] HighLatency (warning)')
    expect(firing.severity).toBe('warning')
    expect(firing.thread).toBe('{}/{severity="warning"}:{alertname="HighLatency"}')
    expect(firing.resolvedLine).toBeUndefined()
    const lines = firing.text.split('\n')
    expect(lines.slice(0, 4)).toEqual([
      '[FIRING:3] HighLatency (warning)',
      'API request latency is high',
      'The 99th percentile latency of the api job has been above 500 ms for 10 minutes.',
      // The same rule for every alert: its link once, for the group.
      'source: http://prometheus.example.org:9090/graph?g0.expr=histogram_quantile%280.99%2C+rate%28http_request_duration_seconds_bucket%5B5m%5D%29%29+%3E+0.5&g0.tab=1'
    ])
    expect(lines.slice(4)).toEqual([
      '• instance="api-1:9100" (since 2026-11-25 05:40 UTC)',
      `  silence: ${silence('alertname="HighLatency",env="prod",instance="api-1:9100",job="api",severity="warning"')}`,
      '• instance="api-2:9100" (since 2026-11-25 05:41 UTC)',
      `  silence: ${silence('alertname="HighLatency",env="prod",instance="api-2:9100",job="api",severity="warning"')}`,
      '• instance="api-3:9100" (since 2026-11-25 05:43 UTC)',
      `  silence: ${silence('alertname="HighLatency",env="prod",instance="api-3:9100",job="api",severity="warning"')}`
    ])
    // The common labels are not repeated on the alerts' lines.
    expect(firing.text).not.toMatch(/job="api"|env="prod"/)
    expect(firing.alerts.map((alert) => [alert.fingerprint, alert.name, alert.status])).toEqual([
      ['1a2b3c4d5e6f7081', 'HighLatency{instance="api-1:9100"}', 'firing'],
      ['2b3c4d5e6f708192', 'HighLatency{instance="api-2:9100"}', 'firing'],
      ['3c4d5e6f708192a3', 'HighLatency{instance="api-3:9100"}', 'firing']
    ])
    expect(firing.alerts[0]?.labels).toEqual({ alertname: 'HighLatency', env: 'prod', instance: 'api-1:9100', job: 'api', severity: 'warning' })
  })

  it('says when the group is resolved, in the same thread, with a short line to answer the firing message', () => {
    const firing = notification(alertmanager, fixture('alertmanager-firing'))
    const resolved = notification(alertmanager, fixture('alertmanager-resolved'))
    expect(resolved.headline).toBe('[RESOLVED:3] HighLatency (warning)')
    expect(resolved.resolvedLine).toBe('RESOLVED: HighLatency (3 alerts)')
    expect(resolved.thread).toBe(firing.thread)
    expect(resolved.contentKey).not.toBe(firing.contentKey)
    expect(resolved.text).toContain('• instance="api-2:9100" (resolved at 2026-11-25 06:03 UTC)')
    // Nothing to silence any more.
    expect(resolved.text).not.toContain('silence')
  })

  it('gives the same content key to a re-sent notification, and another when an alert resolves', () => {
    const payload = fixture('alertmanager-firing')
    const key = notification(alertmanager, payload).contentKey
    expect(key).toMatch(/^[0-9a-f]{64}$/)
    expect(notification(alertmanager, payload).contentKey).toBe(key)
    // Alertmanager re-sends with the alerts in any order and newer annotations: still a repeat.
    const reordered = { ...payload, alerts: [...payload.alerts].reverse().map((alert: Json) => ({ ...alert, annotations: { summary: 'changed' } })) }
    expect(notification(alertmanager, reordered).contentKey).toBe(key)

    const oneResolved = structuredClone(payload)
    oneResolved.alerts[1].status = 'resolved'
    oneResolved.alerts[1].endsAt = '2026-11-25T06:00:00Z'
    const mixed = notification(alertmanager, oneResolved)
    expect(mixed.contentKey).not.toBe(key)
    expect(mixed.headline).toBe('[FIRING:2] HighLatency (warning), 1 resolved')
    expect(mixed.resolvedLine).toBeUndefined()
    expect(mixed.text.split('\n').filter((line) => line.startsWith('•')).at(-1)).toBe('• instance="api-2:9100" (RESOLVED at 2026-11-25 06:00 UTC)')
  })

  it('restricts a notification to some of its alerts with only()', () => {
    const firing = notification(alertmanager, fixture('alertmanager-firing'))
    const some = firing.only?.((alert) => alert.labels.instance !== 'api-2:9100')
    expect(some?.headline).toBe('[FIRING:2] HighLatency (warning)')
    expect(some?.alerts.map((alert) => alert.name)).toEqual(['HighLatency{instance="api-1:9100"}', 'HighLatency{instance="api-3:9100"}'])
    expect(some?.text).not.toContain('api-2')
    expect(some?.text).toContain('• instance="api-3:9100" (since 2026-11-25 05:43 UTC)')
    expect(some?.contentKey).not.toBe(firing.contentKey)
    expect(some?.thread).toBe(firing.thread)
    expect(firing.only?.(() => true)).toBe(firing)
    expect(firing.only?.(() => false)).toBeUndefined()
    // The subset of a subset, recomputed again: one alert alone is named by the labels the group does not name.
    const one = some?.only?.((alert) => alert.labels.instance === 'api-1:9100')
    expect(one?.headline).toBe('[FIRING:1] HighLatency (warning)')
    expect(one?.alerts[0]?.name).toBe('HighLatency{env="prod",instance="api-1:9100",job="api"}')

    const payload = fixture('alertmanager-firing')
    payload.alerts[0].status = 'resolved'
    const resolvedOnly = notification(alertmanager, payload).only?.((alert) => alert.status === 'resolved')
    expect(resolvedOnly?.resolvedLine).toBe('RESOLVED: HighLatency (1 alert)')
    expect(resolvedOnly?.headline).toBe('[RESOLVED:1] HighLatency (warning)')
  })

  it('notes the alerts Alertmanager left out, and keeps long groups readable', () => {
    const truncated = { ...fixture('alertmanager-firing'), truncatedAlerts: 5 }
    expect(notification(alertmanager, truncated).text.split('\n').at(-1)).toBe('+5 alerts not shown by Alertmanager')

    const payload = fixture('alertmanager-firing')
    const template = payload.alerts[0] as Json
    payload.alerts = Array.from({ length: 60 }, (_, index) => ({
      ...template,
      labels: { ...template.labels, instance: `api-${String(index).padStart(2, '0')}:9100` },
      fingerprint: undefined
    }))
    const many = notification(alertmanager, payload)
    expect(many.alerts).toHaveLength(60)
    expect(many.text.split('\n').filter((line) => line.startsWith('• '))).toHaveLength(50)
    expect(many.text).toContain('… and 10 more')
    expect(many.text).not.toContain('api-55')
    // Without Alertmanager's fingerprint: a stable hash of the labels, different for each alert.
    const fingerprints = many.alerts.map((alert) => alert.fingerprint)
    expect(new Set(fingerprints).size).toBe(60)
    expect(fingerprints[0]).toMatch(/^[0-9a-f]{16}$/)
    expect(notification(alertmanager, payload).alerts[0]?.fingerprint).toBe(fingerprints[0])
  })

  it('shows an alert its own summary when it differs from the others', () => {
    const payload = fixture('alertmanager-firing')
    payload.alerts[2].annotations.summary = 'api-3 is the slowest'
    payload.commonAnnotations = { description: payload.commonAnnotations.description }
    const text = notification(alertmanager, payload).text
    expect(text).toContain('• instance="api-3:9100": api-3 is the slowest (since 2026-11-25 05:43 UTC)')
    expect(text).toContain('• instance="api-1:9100": API request latency is high (since 2026-11-25 05:40 UTC)')
    expect(text.split('\n')[1]).toBe('The 99th percentile latency of the api job has been above 500 ms for 10 minutes.')
  })

  it('refuses what is not an Alertmanager v4 payload, naming the field', () => {
    const payload = fixture('alertmanager-firing')
    const body = (change: (payload: Json) => void): string => {
      const copy = structuredClone(payload)
      change(copy)
      return JSON.stringify(copy)
    }
    const notJson = problemOf(alertmanager, '{"version": "4", ')
    expect(notJson.field).toBe('body')
    expect(notJson.why).toMatch(/^is not valid JSON: .+/)
    expect(problemOf(alertmanager, Buffer.from([0x7b, 0xff, 0x7d]))).toEqual({ field: 'body', why: 'is not valid UTF-8' })
    expect(problemOf(alertmanager, '[]')).toEqual({ field: 'body', why: 'expected object, got array' })
    expect(problemOf(alertmanager, body((p) => { p.version = '3' }))).toEqual({ field: 'version', why: 'expected "4", got "3"' })
    expect(problemOf(alertmanager, body((p) => { delete p.version }))).toEqual({ field: 'version', why: 'is missing (expected "4")' })
    expect(problemOf(alertmanager, body((p) => { delete p.alerts }))).toEqual({ field: 'alerts', why: 'is missing (expected array)' })
    expect(problemOf(alertmanager, body((p) => { p.alerts = [] }))).toEqual({ field: 'alerts', why: 'is empty: there is no alert to post' })
    expect(problemOf(alertmanager, body((p) => { p.alerts[1].labels.severity = 3 }))).toEqual({ field: 'alerts[1].labels.severity', why: 'expected string, got number' })
    expect(problemOf(alertmanager, body((p) => { p.alerts[0].labels['app.kubernetes.io/name'] = null })).field).toBe('alerts[0].labels["app.kubernetes.io/name"]')
    expect(problemOf(alertmanager, body((p) => { p.alerts[2].status = 'pending' })).field).toBe('alerts[2].status')
    expect(problemOf(alertmanager, body((p) => { delete p.alerts[0].startsAt }))).toEqual({ field: 'alerts[0].startsAt', why: 'is missing (expected string)' })
    expect(problemOf(alertmanager, body((p) => { p.truncatedAlerts = '0' }))).toEqual({ field: 'truncatedAlerts', why: 'expected number, got string' })
  })

  it('writes the same message in Markdown, line for line: the headline bold, labels as code, links as links, the rest escaped', () => {
    const firing = notification(alertmanager, fixture('alertmanager-firing'))
    expect(firing.markdown?.split('\n')).toEqual([
      // Brackets would start a link: escaped.
      '**\\[FIRING:3\\] HighLatency (warning)**',
      'API request latency is high',
      'The 99th percentile latency of the api job has been above 500 ms for 10 minutes.',
      '[source](http://prometheus.example.org:9090/graph?g0.expr=histogram_quantile%280.99%2C+rate%28http_request_duration_seconds_bucket%5B5m%5D%29%29+%3E+0.5&g0.tab=1)',
      '• `instance="api-1:9100"` (since 2026-11-25 05:40 UTC)',
      `  [silence](${silence('alertname="HighLatency",env="prod",instance="api-1:9100",job="api",severity="warning"')})`,
      '• `instance="api-2:9100"` (since 2026-11-25 05:41 UTC)',
      `  [silence](${silence('alertname="HighLatency",env="prod",instance="api-2:9100",job="api",severity="warning"')})`,
      '• `instance="api-3:9100"` (since 2026-11-25 05:43 UTC)',
      `  [silence](${silence('alertname="HighLatency",env="prod",instance="api-3:9100",job="api",severity="warning"')})`
    ])

    const payload = fixture('alertmanager-firing')
    payload.commonAnnotations = {}
    for (const alert of payload.alerts) alert.annotations = {}
    payload.alerts[0].annotations = { summary: 'disk_usage over 90% *now* [sda]' }
    payload.alerts[1].labels.instance = 'api`2'
    payload.alerts[2].generatorURL = 'http://prometheus.example.org/graph?q=rate(x[5m]) > 1'
    const odd = notification(alertmanager, payload)
    const lines = odd.markdown?.split('\n') ?? []
    expect(lines).toContain('• `instance="api-1:9100"`: disk\\_usage over 90% \\*now\\* \\[sda\\] (since 2026-11-25 05:40 UTC)')
    expect(lines).toContain('• instance="api\\`2" (since 2026-11-25 05:41 UTC)')
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}\[source\]\(http:\/\/prometheus\.example\.org\/graph\?q=rate%28x\[5m\]%29%20%3E%201\) · \[silence\]\(/))
    // The plain text is as it was.
    expect(odd.text).toContain('• instance="api-1:9100": disk_usage over 90% *now* [sda] (since 2026-11-25 05:40 UTC)')
  })

  it('takes what it does not use, and null maps, as they come', () => {
    const payload = fixture('alertmanager-firing')
    payload.somethingNew = { nested: [1, 2] }
    payload.alerts[0].annotations = null
    payload.commonAnnotations = null
    payload.alerts[0].extra = true
    const firing = notification(alertmanager, payload)
    expect(firing.alerts).toHaveLength(3)
    expect(firing.text).toContain('• instance="api-1:9100" (since 2026-11-25 05:40 UTC)')
  })
})

describe('grafana source', () => {
  it('posts Grafana\'s title, state and message, then each alert with its values and links', () => {
    const firing = notification(grafana, fixture('grafana-firing'))
    expect(firing.headline).toBe('[FIRING:2] High memory usage Infrastructure (blue)')
    expect(firing.thread).toBe('{}/{__grafana_autogenerated__="true"}/{__grafana_receiver__="bertybot"}:{alertname="High memory usage", grafana_folder="Infrastructure"}')
    const lines = firing.text.split('\n')
    expect(lines[1]).toBe('State: alerting')
    expect(lines[2]).toBe('**Firing**')
    const start = lines.findIndex((line) => line.startsWith('dashboard: '))
    expect(lines[start]).toBe('dashboard: https://grafana.example.org/d/8dc6e1f7-d0c6-4bd2-aeb8-b0a8a5c5e6b1?from=1764049863157&orgId=1&to=1764053463157 · ' +
      'panel: https://grafana.example.org/d/8dc6e1f7-d0c6-4bd2-aeb8-b0a8a5c5e6b1?from=1764049863157&orgId=1&to=1764053463157&viewPanel=1')
    expect(lines.slice(start + 1)).toEqual([
      '• zone="eu-1": This alert was triggered for zone eu-1 (since 2026-11-25 05:51 UTC)',
      '  values: B=97.2, C=1',
      '  silence: https://grafana.example.org/alerting/silence/new?alertmanager=grafana&matcher=alertname%3DHigh+memory+usage&matcher=team%3Dblue&matcher=zone%3Deu-1&orgId=1',
      '• zone="us-1": This alert was triggered for zone us-1 (since 2026-11-25 05:51 UTC)',
      '  values: B=44.2394, C=1',
      '  silence: https://grafana.example.org/alerting/silence/new?alertmanager=grafana&matcher=alertname%3DHigh+memory+usage&matcher=team%3Dblue&matcher=zone%3Dus-1&orgId=1'
    ])
    expect(firing.alerts.map((alert) => alert.name)).toEqual(['High memory usage{zone="us-1"}', 'High memory usage{zone="eu-1"}'])
    expect(firing.alerts.map((alert) => alert.fingerprint)).toEqual(['c6eadffa33fcdf37', 'b7f0e94c4d2e41a8'])
  })

  it('has the thread, content key, resolution and only() of Alertmanager', () => {
    const payload = fixture('grafana-firing')
    const firing = notification(grafana, payload)
    // Grafana re-sends with new values: the same alerts in the same states are a repeat.
    const again = structuredClone(payload)
    again.alerts[0].values.B = 45.1
    expect(notification(grafana, again).contentKey).toBe(firing.contentKey)

    const eu = firing.only?.((alert) => alert.labels.zone === 'eu-1')
    // Grafana's title and message speak for the whole group: not for a part of it.
    expect(eu?.headline).toBe('[FIRING:1] High memory usage')
    expect(eu?.text).not.toContain('us-1')
    expect(eu?.text).not.toContain('State: alerting')
    expect(eu?.text).toContain('• team="blue", zone="eu-1" (since 2026-11-25 05:51 UTC)')

    const resolved = structuredClone(payload)
    resolved.status = 'resolved'
    resolved.title = '[RESOLVED] High memory usage Infrastructure (blue)'
    resolved.state = 'ok'
    for (const alert of resolved.alerts) {
      alert.status = 'resolved'
      alert.endsAt = '2026-11-25T07:10:00Z'
      alert.values = null
    }
    const done = notification(grafana, resolved)
    expect(done.resolvedLine).toBe('RESOLVED: High memory usage (2 alerts)')
    expect(done.thread).toBe(firing.thread)
    expect(done.contentKey).not.toBe(firing.contentKey)
    expect(done.text).not.toContain('silence:')
  })

  it('refuses the legacy payload and wrong types, naming the field', () => {
    const legacy = { title: '[Alerting] Test notification', ruleId: 1, ruleName: 'Test', state: 'alerting', evalMatches: [], message: 'Someone is testing' }
    expect(problemOf(grafana, JSON.stringify(legacy))).toMatchObject({ field: 'status' })
    expect(problemOf(grafana, JSON.stringify({ ...legacy, status: 'firing' }))).toEqual({ field: 'alerts', why: 'is missing (expected array)' })
    const payload = fixture('grafana-firing')
    payload.alerts[1].values.B = '97.2'
    expect(problemOf(grafana, JSON.stringify(payload))).toEqual({ field: 'alerts[1].values.B', why: 'expected number, got string' })
    expect(problemOf(grafana, 'not json').field).toBe('body')
  })
})

describe('default sources', () => {
  it('are the four kinds, with what the bridge needs', () => {
    const sources = defaultSources()
    expect(sources.map((source) => [source.kind, source.auth, source.contentTypes])).toEqual([
      ['alertmanager', 'bearer', ['application/json']],
      ['grafana', 'bearer', ['application/json']],
      ['github', 'signature', ['application/json', 'application/x-www-form-urlencoded']],
      ['generic', 'bearer', ['application/json', 'text/plain', 'application/x-www-form-urlencoded']]
    ])
    expect(sources.find((source) => source.kind === 'github')?.verify).toBeTypeOf('function')
  })
})
