/**
 * A real Alertmanager for tests, on 127.0.0.1 only: a config in a temp dir,
 * a free port, clustering off, ready when `/-/ready` answers. `stop()` ends
 * the process and removes its directory; whatever a test forgets is stopped
 * when its file ends.
 *
 * Without the binary the Alertmanager suites are skipped with a loud
 * warning, unless BERTYBOT_REQUIRE_ALERTMANAGER=1 (CI), where they fail.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { afterAll, describe, it } from 'vitest'
import { stringify } from 'yaml'
import { warnSkipped } from './skipped.ts'

export const REQUIRE_ENV = 'BERTYBOT_REQUIRE_ALERTMANAGER'
export const BINARY_ENV = 'ALERTMANAGER_BIN'
const INSTALL = 'apt-get install prometheus-alertmanager'

/** An alert as `POST /api/v2/alerts` takes it. */
export interface PostableAlert {
  labels: Record<string, string>
  annotations?: Record<string, string>
  startsAt?: Date | string
  endsAt?: Date | string
  generatorURL?: string
}

export interface StartAlertmanagerOptions {
  /** Where the `bridge` receiver posts notifications (with `send_resolved: true`); none by default. */
  webhookUrl?: string
  /** Sent as `Authorization: Bearer <token>` with each notification. */
  bearerToken?: string
  /** Route timings, in Alertmanager's duration syntax. */
  groupWait?: string // default 1s
  groupInterval?: string // default 2s
  repeatInterval?: string // default 1h
  /** How long an alert without `endsAt` stays firing (global `resolve_timeout`); Alertmanager's default is 5m. */
  resolveTimeout?: string
  /** Serve everything under this path (`/am`): `url` then ends with it. */
  routePrefix?: string
  /** How long to wait for `/-/ready`; 30 s by default (a loaded machine). */
  readyTimeoutMs?: number
  /** Listen on this port (for a client configured before it starts); default: a free one. */
  port?: number
}

export interface RunningAlertmanager {
  /** `http://127.0.0.1:<port>`, plus the route prefix if any; no trailing slash. */
  readonly url: string
  readonly port: number
  readonly pid: number
  /** Its temp dir: config and storage. */
  readonly dir: string
  /** The config it runs with, as written. */
  readonly config: string
  /** What it printed so far (logfmt), for failure messages. */
  output: () => string
  /** `POST /api/v2/alerts`; throws with Alertmanager's answer if it refuses them. */
  postAlerts: (alerts: readonly PostableAlert[]) => Promise<void>
  /** SIGTERM, then SIGKILL if it has not exited within 10 s; removes the temp dir. Idempotent. */
  stop: () => Promise<void>
}

function executable (path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The Alertmanager binary: $ALERTMANAGER_BIN if set (and nothing else then),
 * else `prometheus-alertmanager` (Debian's name) or `alertmanager` on the
 * PATH, else /usr/bin/prometheus-alertmanager; undefined if none is there.
 */
export function alertmanagerBinary (): string | undefined {
  const fromEnv = process.env[BINARY_ENV]
  if (fromEnv !== undefined && fromEnv !== '') return executable(fromEnv) ? fromEnv : undefined
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '')
  for (const name of ['prometheus-alertmanager', 'alertmanager']) {
    for (const dir of dirs) {
      const path = join(dir, name)
      if (executable(path)) return path
    }
  }
  return executable('/usr/bin/prometheus-alertmanager') ? '/usr/bin/prometheus-alertmanager' : undefined
}

function missingMessage (): string {
  const fromEnv = process.env[BINARY_ENV]
  return fromEnv !== undefined && fromEnv !== ''
    ? `Alertmanager is missing: ${BINARY_ENV} names a file that is not an executable`
    : `Alertmanager is missing: the package prometheus-alertmanager is not installed (${INSTALL})`
}

const warned = new Set<string>()

function warnAlertmanagerSkipped (suite: string): void {
  if (warned.has(suite)) return
  warned.add(suite)
  warnSkipped([
    'WARNING: TESTS SKIPPED, NOT PASSED',
    '',
    `Did not run: "${suite}".`,
    'These tests need a real Alertmanager.',
    missingMessage() + '.',
    '',
    `Install it (Debian, Ubuntu):  ${INSTALL}`,
    `or point ${BINARY_ENV} at an alertmanager binary.`,
    `CI sets ${REQUIRE_ENV}=1, which makes this a failure.`
  ])
}

/**
 * The binary's path if there is one. Without it: throws when
 * BERTYBOT_REQUIRE_ALERTMANAGER=1, else prints the boxed warning naming
 * `suite` on stderr and returns undefined (the caller skips).
 */
export function requireAlertmanager (suite: string): string | undefined {
  const binary = alertmanagerBinary()
  if (binary !== undefined) return binary
  if (process.env[REQUIRE_ENV] === '1') throw new Error(`${missingMessage()}; ${REQUIRE_ENV}=1 requires it for "${suite}"`)
  warnAlertmanagerSkipped(suite)
  return undefined
}

/**
 * `describe(name, fn)` when Alertmanager is there. Without it, under
 * BERTYBOT_REQUIRE_ALERTMANAGER=1 the suite is one failing test saying the
 * package is missing; otherwise it is skipped, with the boxed warning.
 */
export function describeWithAlertmanager (name: string, fn: () => void): void {
  if (alertmanagerBinary() !== undefined) {
    describe(name, fn)
  } else if (process.env[REQUIRE_ENV] === '1') {
    describe(name, () => {
      it('has an Alertmanager to run against', () => { requireAlertmanager(name) })
    })
  } else {
    warnAlertmanagerSkipped(name)
    describe.skip(name, fn)
  }
}

/** A port nothing listens on right now (the kernel's pick); someone may take it before it is used. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => {
        if (typeof address === 'object' && address !== null) resolve(address.port)
        else reject(new Error('no port'))
      })
    })
  })
}

function configYaml (options: StartAlertmanagerOptions): string {
  const webhook: Record<string, unknown> | undefined = options.webhookUrl === undefined
    ? undefined
    : {
        url: options.webhookUrl,
        send_resolved: true,
        // 0.25 has no `timeout` (nor `url_file`) here: it refuses the config with "field timeout not found".
        ...(options.bearerToken === undefined ? {} : { http_config: { authorization: { type: 'Bearer', credentials: options.bearerToken } } })
      }
  return stringify({
    ...(options.resolveTimeout === undefined ? {} : { global: { resolve_timeout: options.resolveTimeout } }),
    route: {
      receiver: 'bridge',
      group_by: ['alertname'],
      group_wait: options.groupWait ?? '1s',
      group_interval: options.groupInterval ?? '2s',
      repeat_interval: options.repeatInterval ?? '1h'
    },
    receivers: [webhook === undefined ? { name: 'bridge' } : { name: 'bridge', webhook_configs: [webhook] }]
  })
}

const running = new Set<RunningAlertmanager>()
const children = new Set<ChildProcess>()

// A test process that ends without stopping them (a crash, a forgotten stop) kills them on its way out.
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})

afterAll(async () => {
  await Promise.all([...running].map(async (am) => { await am.stop() }))
})

/** Resolves when the child exits (at once if it has); never rejects. */
async function exited (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => child.once('exit', () => { resolve() }))
}

async function untilExit (child: ChildProcess, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const done = await Promise.race([
    exited(child).then(() => true),
    new Promise<false>((resolve) => { timer = setTimeout(() => { resolve(false) }, ms) })
  ])
  clearTimeout(timer)
  return done
}

async function stopChild (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  if (await untilExit(child, 10_000)) return
  child.kill('SIGKILL')
  if (!await untilExit(child, 10_000)) throw new Error(`alertmanager (pid ${child.pid}) did not exit after SIGKILL`)
}

class ExitedEarly extends Error {}

/** Polls `url` until it answers 200, the child exits, or the deadline passes. */
async function waitReady (url: string, child: ChildProcess, deadline: number, output: () => string): Promise<void> {
  let last = 'no answer yet'
  let delay = 20
  while (true) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new ExitedEarly(`alertmanager exited before it was ready (${child.exitCode ?? child.signalCode}):\n${output()}`)
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
      await response.arrayBuffer()
      if (response.status === 200) return
      last = `HTTP ${response.status}`
    } catch (error) {
      last = error instanceof Error ? String(error.cause ?? error.message) : String(error)
    }
    if (Date.now() > deadline) throw new Error(`alertmanager was not ready after its deadline (last: ${last}):\n${output()}`)
    // A readiness poll, not a wait for time to pass: it ends as soon as it answers.
    await new Promise((resolve) => setTimeout(resolve, delay))
    delay = Math.min(delay * 2, 250)
  }
}

/**
 * Starts Alertmanager on 127.0.0.1 (web on a free port, clustering off) with
 * one receiver, `bridge`, and waits until it is ready. Throws if the binary
 * is missing: use it inside `describeWithAlertmanager`.
 */
export async function startAlertmanager (options: StartAlertmanagerOptions = {}): Promise<RunningAlertmanager> {
  const binary = alertmanagerBinary()
  if (binary === undefined) throw new Error(missingMessage())
  const dir = await mkdtemp(join(tmpdir(), 'bertybot-alertmanager-'))
  const config = configYaml(options)
  const configFile = join(dir, 'alertmanager.yml')
  await writeFile(configFile, config)
  const prefix = options.routePrefix === undefined ? '' : '/' + options.routePrefix.replace(/^\/+|\/+$/g, '')
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000)
  // The port is free when picked but could be taken before Alertmanager binds it: then try another.
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? await freePort()
    const base = `http://127.0.0.1:${port}`
    const child = spawn(binary, [
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Links in notifications point here, not at the machine's host name.
      `--web.external-url=${base}${prefix}/`,
      // Empty: no cluster listener (it would bind 0.0.0.0:9094 and gossip).
      '--cluster.listen-address=',
      '--log.level=info'
    ], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    child.once('exit', () => { children.delete(child) })
    let log = ''
    const collect = (chunk: Buffer): void => { if (log.length < 200_000) log += chunk.toString('utf8') }
    child.stdout?.on('data', collect)
    child.stderr?.on('data', collect)
    const output = (): string => log
    // 'close' comes after 'exit', once its output is all read.
    const closed = new Promise<void>((resolve) => child.once('close', () => { resolve() }))
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', reject)
    })
    try {
      await spawned
      await waitReady(`${base}${prefix}/-/ready`, child, deadline, output)
    } catch (error) {
      await stopChild(child)
      // (bounded: a process that failed to spawn may never close)
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5000).unref())])
      if (error instanceof ExitedEarly && /address already in use/.test(output()) && attempt < 5 && options.port === undefined) continue
      await rm(dir, { recursive: true, force: true })
      throw error instanceof ExitedEarly ? new Error(`alertmanager exited before it was ready (${child.exitCode ?? child.signalCode}):\n${output()}`) : error
    }
    let stopping: Promise<void> | undefined
    const am: RunningAlertmanager = {
      url: `${base}${prefix}`,
      port,
      pid: child.pid!,
      dir,
      config,
      output,
      async postAlerts (alerts) {
        const body = alerts.map((alert) => ({
          ...alert,
          ...(alert.startsAt === undefined ? {} : { startsAt: new Date(alert.startsAt).toISOString() }),
          ...(alert.endsAt === undefined ? {} : { endsAt: new Date(alert.endsAt).toISOString() })
        }))
        const response = await fetch(`${base}${prefix}/api/v2/alerts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(10_000)
        })
        const text = await response.text()
        if (!response.ok) throw new Error(`alertmanager refused the alerts: HTTP ${response.status} ${text}`)
      },
      async stop () {
        stopping ??= (async () => {
          try {
            await stopChild(child)
          } finally {
            running.delete(am)
            await rm(dir, { recursive: true, force: true })
          }
        })()
        await stopping
      }
    }
    running.add(am)
    return am
  }
}
