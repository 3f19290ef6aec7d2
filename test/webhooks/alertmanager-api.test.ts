import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { AlertmanagerClient, AlertmanagerError, type Alert } from '../../src/bridge/alertmanager-api.ts'
import { parseMatcher, parseMatchers } from '../../src/bridge/matchers.ts'
import { describeWithAlertmanager, freePort, startAlertmanager, type RunningAlertmanager } from '../helpers/alertmanager.ts'
import { waitFor } from '../helpers/wait.ts'

/** Polls `check` until it returns a value, or fails with what it was waiting for. */
async function eventually<T> (what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (true) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function rejection (promise: Promise<unknown>): Promise<AlertmanagerError> {
  const error = await promise.then(() => undefined, (e: unknown) => e)
  expect(error).toBeInstanceOf(AlertmanagerError)
  return error as AlertmanagerError
}

/** An HTTP server on 127.0.0.1 that takes requests and never answers them. */
async function silentServer (): Promise<{ url: string, requests: IncomingMessage[], close: () => Promise<void> }> {
  const requests: IncomingMessage[] = []
  const server: Server = createServer((request) => { requests.push(request) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (typeof address !== 'object' || address === null) throw new Error('no address')
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}

const names = (alerts: Alert[]): string[] => alerts.map((a) => a.labels.alertname ?? '').sort()

describeWithAlertmanager('the Alertmanager API client, against a real Alertmanager', () => {
  let am: RunningAlertmanager
  let client: AlertmanagerClient

  beforeAll(async () => {
    am = await startAlertmanager()
    client = new AlertmanagerClient({ url: am.url, timeoutMs: 10_000 })
  })
  afterAll(async () => { await am?.stop() })

  it('lists posted alerts with their labels, and silences one until the silence is expired', async () => {
    const run = randomUUID().slice(0, 8)
    const generatorURL = 'http://prometheus.example/graph?g0.expr=up'
    await am.postAlerts([
      { labels: { alertname: 'HighLatency', run, severity: 'critical', instance: 'a:9100' }, annotations: { summary: 'p99 over 2 s' }, generatorURL },
      { labels: { alertname: 'DiskFull', run, severity: 'warning' } }
    ])
    const mine = [parseMatcher(`run="${run}"`)]

    const alerts = await client.alerts({ matchers: mine })
    expect(names(alerts)).toEqual(['DiskFull', 'HighLatency'])
    const latency = alerts.find((a) => a.labels.alertname === 'HighLatency')!
    expect(latency.labels).toEqual({ alertname: 'HighLatency', run, severity: 'critical', instance: 'a:9100' })
    expect(latency.annotations).toEqual({ summary: 'p99 over 2 s' })
    expect(latency.generatorURL).toBe(generatorURL)
    expect(latency.fingerprint).toMatch(/^[0-9a-f]+$/)
    expect(latency.startsAt).toBeInstanceOf(Date)
    expect(latency.endsAt.getTime()).toBeGreaterThan(latency.startsAt.getTime())
    expect(latency.status.silencedBy).toEqual([])

    const endsAt = new Date(Date.now() + 3_600_000)
    const id = await client.createSilence({
      matchers: parseMatchers(`alertname="HighLatency" run=${run}`),
      endsAt,
      createdBy: 'alice',
      comment: 'deploying the fix'
    })
    expect(id).toMatch(/^[0-9a-f-]{36}$/)

    const unsilenced = await eventually('the silenced alert to leave the unsilenced list', async () => {
      const list = await client.alerts({ silenced: false, matchers: mine })
      return list.length === 1 ? list : undefined
    })
    expect(names(unsilenced)).toEqual(['DiskFull'])
    const silencedAlert = (await client.alerts({ matchers: mine })).find((a) => a.labels.alertname === 'HighLatency')!
    expect(silencedAlert.status).toMatchObject({ state: 'suppressed', silencedBy: [id] })

    const silence = (await client.silences()).find((s) => s.id === id)
    expect(silence).toMatchObject({
      createdBy: 'alice',
      comment: 'deploying the fix',
      status: { state: 'active' },
      matchers: [
        { name: 'alertname', value: 'HighLatency', isRegex: false, isEqual: true },
        { name: 'run', value: run, isRegex: false, isEqual: true }
      ]
    })
    expect(Math.abs(silence!.endsAt.getTime() - endsAt.getTime())).toBeLessThan(1000)

    await client.expireSilence(id)
    expect((await client.silences()).find((s) => s.id === id)?.status.state).toBe('expired')
    expect((await client.silence(id)).status.state).toBe('expired')
    await eventually('the alert to be unsilenced', async () => {
      const list = await client.alerts({ silenced: false, matchers: mine })
      return list.length === 2 ? list : undefined
    })
    // Expiring it again is not an error.
    await client.expireSilence(id)
  })

  it('sends negative and regex matchers as Alertmanager reads them', async () => {
    const run = randomUUID().slice(0, 8)
    await am.postAlerts([
      { labels: { alertname: 'A', run, job: 'node' } },
      { labels: { alertname: 'B', run, job: 'api' } },
      { labels: { alertname: 'C', run, job: 'db' } }
    ])
    const mine = [parseMatcher(`run="${run}"`)]
    const id = await client.createSilence({
      matchers: [...mine, parseMatcher('job!~"node|db"')],
      endsAt: new Date(Date.now() + 600_000),
      createdBy: 'bob',
      comment: 'not the node nor the db'
    })
    const unsilenced = await eventually('B to be silenced', async () => {
      const list = await client.alerts({ silenced: false, matchers: mine })
      return list.length === 2 ? list : undefined
    })
    expect(names(unsilenced)).toEqual(['A', 'C'])
    expect((await client.silence(id)).matchers).toContainEqual({ name: 'job', value: 'node|db', isRegex: true, isEqual: false })
    expect(names(await client.alerts({ matchers: [...mine, parseMatcher('job=~"n.*|a.*"')] }))).toEqual(['A', 'B'])
    await client.expireSilence(id)
  })

  it('says clearly when a silence is refused or does not exist', async () => {
    const missing = randomUUID()
    const notFound = await rejection(client.expireSilence(missing))
    expect(notFound.code).toBe('ERR_ALERTMANAGER')
    expect(notFound.failure).toBe('not-found')
    expect(notFound.message).toBe(`no silence with id ${missing}`)
    expect((await rejection(client.silence(missing))).message).toBe(`no silence with id ${missing}`)

    const notAnId = await rejection(client.expireSilence('yesterday'))
    expect(notAnId.message).toMatch(/^"yesterday" is not a silence id/)

    const backwards = await rejection(client.createSilence({
      matchers: [parseMatcher('alertname=X')],
      startsAt: new Date(Date.now() + 3_600_000),
      endsAt: new Date(Date.now() + 60_000),
      createdBy: 'carol',
      comment: 'ends before it starts'
    }))
    expect(backwards.failure).toBe('refused')
    expect(backwards.message).toMatch(/^Alertmanager refused the silence: .*start time must be before end time/)

    const matchesEverything = await rejection(client.createSilence({
      matchers: [parseMatcher('alertname=~".*"')],
      endsAt: new Date(Date.now() + 60_000),
      createdBy: 'carol',
      comment: 'everything'
    }))
    expect(matchesEverything.message).toMatch(/^Alertmanager refused the silence: /)
  })

  it('works with a path prefix, with or without a trailing slash', async () => {
    const prefixed = await startAlertmanager({ routePrefix: 'am' })
    try {
      expect(prefixed.url).toMatch(/\/am$/)
      for (const url of [prefixed.url, `${prefixed.url}/`]) {
        expect(await new AlertmanagerClient({ url }).silences()).toEqual([])
      }
      const wrong = await rejection(new AlertmanagerClient({ url: `http://127.0.0.1:${prefixed.port}` }).silences())
      expect(wrong.failure).toBe('refused')
      expect(wrong.status).toBe(404)
      expect(wrong.message).toMatch(/^Alertmanager could not list the silences: HTTP 404/)
    } finally {
      await prefixed.stop()
    }
    expect(() => process.kill(prefixed.pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }))
  })

  it('posts notifications to the webhook with the bearer token, firing then resolved', async () => {
    const received: Array<{ authorization: string | undefined, body: any }> = []
    const hooks = new Set<() => void>()
    const server = createServer((request, response) => {
      const chunks: Buffer[] = []
      request.on('data', (chunk: Buffer) => chunks.push(chunk))
      request.on('end', () => {
        received.push({ authorization: request.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) })
        response.end()
        for (const hook of hooks) hook()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    const bridge = await startAlertmanager({ webhookUrl: `http://127.0.0.1:${port}/hooks/alertmanager/ops`, bearerToken: 'a-long-secret-token-of-the-route' })
    try {
      expect(bridge.config).toContain('send_resolved: true')
      const until = async (what: string, status: string): Promise<void> => {
        await waitFor(what, (done) => {
          const check = (): void => { if (received.some((r) => r.body.status === status)) done(undefined) }
          hooks.add(check)
          check()
          return () => { hooks.delete(check) }
        })
      }
      await bridge.postAlerts([{ labels: { alertname: 'Webhooked', severity: 'critical' } }])
      await until('a firing notification', 'firing')
      const firing = received.find((r) => r.body.status === 'firing')!
      expect(firing.authorization).toBe('Bearer a-long-secret-token-of-the-route')
      expect(firing.body.alerts[0].labels).toEqual({ alertname: 'Webhooked', severity: 'critical' })
      expect(firing.body.externalURL).toBe(`http://127.0.0.1:${bridge.port}`)

      await bridge.postAlerts([{ labels: { alertname: 'Webhooked', severity: 'critical' }, endsAt: new Date() }])
      await until('a resolved notification', 'resolved')
    } finally {
      await bridge.stop()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

// Failures that need no Alertmanager.
it('fails clearly, and at once, when nothing listens', async () => {
  const port = await freePort()
  const started = Date.now()
  const error = await rejection(new AlertmanagerClient({ url: `http://127.0.0.1:${port}` }).alerts())
  expect(error.failure).toBe('unreachable')
  expect(error.message).toBe('Alertmanager could not be reached: connection refused')
  expect(Date.now() - started).toBeLessThan(4000)
})

it('times out on a server that never answers, and can be cancelled by the caller', async () => {
  const server = await silentServer()
  try {
    const started = Date.now()
    const timedOut = await rejection(new AlertmanagerClient({ url: server.url, timeoutMs: 500 }).silences())
    const elapsed = Date.now() - started
    expect(timedOut.failure).toBe('timeout')
    expect(timedOut.message).toBe('Alertmanager did not answer within 500 ms')
    expect(server.requests.length).toBeGreaterThanOrEqual(1)
    expect(elapsed).toBeGreaterThanOrEqual(450)
    expect(elapsed).toBeLessThan(5000)

    expect((await rejection(new AlertmanagerClient({ url: server.url }).alerts({}, { signal: AbortSignal.timeout(0) }))).message)
      .toBe('the request to list the alerts was cancelled')
    const controller = new AbortController()
    const pending = new AlertmanagerClient({ url: server.url, timeoutMs: 30_000 }).createSilence({
      matchers: [parseMatcher('alertname=X')], endsAt: new Date(Date.now() + 60_000), createdBy: 'dave', comment: 'c'
    }, { signal: controller.signal })
    await waitFor('the request to arrive', (done) => {
      const timer = setInterval(() => { if (server.requests.length >= 2) done(undefined) }, 20)
      return () => { clearInterval(timer) }
    })
    controller.abort()
    const cancelled = await rejection(pending)
    expect(cancelled.failure).toBe('aborted')
    expect(cancelled.message).toBe('the request to create the silence was cancelled')
  } finally {
    await server.close()
  }
})

it('says the timeout in seconds, and keeps URL credentials out of messages', async () => {
  const server = await silentServer()
  try {
    const client = new AlertmanagerClient({ url: server.url.replace('http://', 'http://admin:hunter2@') + '/prefix' })
    expect(client.timeoutMs).toBe(5000)
    const error = await rejection(new AlertmanagerClient({ url: server.url.replace('http://', 'http://admin:hunter2@'), timeoutMs: 1500 }).alerts())
    expect(error.message).toBe('Alertmanager did not answer within 1.5 s')
    expect(error.message).not.toContain('hunter2')
    expect(server.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('admin:hunter2').toString('base64')}`)
    expect(server.requests[0]?.url).toBe('/api/v2/alerts')
  } finally {
    await server.close()
  }
  expect(() => new AlertmanagerClient({ url: 'ftp://user:secret@example.org' })).toThrow('the Alertmanager URL must start with http:// or https://')
  expect(() => new AlertmanagerClient({ url: 'not a url with secret' })).toThrow(/^the Alertmanager URL is not a valid URL$/)
})

it('refuses an answer that is not the API\'s, saying so', async () => {
  const server = createServer((_request, response) => {
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify([{ labels: { alertname: 'X' }, startsAt: 'yesterday' }]))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
    const error = await rejection(new AlertmanagerClient({ url }).alerts())
    expect(error.failure).toBe('invalid-response')
    expect(error.message).toMatch(/^Alertmanager's list of alerts is not what its API v2 returns at 0\.startsAt/)
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})
