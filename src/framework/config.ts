/**
 * A bot's configuration: options given in code win; anything not given comes
 * from the environment, then from a `.env` file (dotenv), then the bot's own
 * `defaults`, then the framework's. Every
 * value is validated with zod, and a bad one stops start-up with an error that
 * names the variable (or option) and says what is wrong.
 *
 * | option        | variable             | default                         |
 * |---------------|----------------------|---------------------------------|
 * | dataDir       | BERTYBOT_DATA        | ./.bertybot                     |
 * | displayName   | BERTYBOT_NAME        | (kept from the last run)        |
 * | listen        | BERTYBOT_LISTEN      | 127.0.0.1, ports kept (port 0)  |
 * | announce      | BERTYBOT_ANNOUNCE    | the listening addresses         |
 * | bootstrap     | BERTYBOT_BOOTSTRAP   | none                            |
 * | replicas      | BERTYBOT_REPLICAS    | none                            |
 * | dht           | BERTYBOT_DHT         | lan                             |
 * | mdns          | BERTYBOT_MDNS        | off (`on` announces the peer)   |
 * | timezone      | BERTYBOT_TIMEZONE    | the system's                    |
 * | concurrency   | BERTYBOT_CONCURRENCY | 16                              |
 * | maxFileSize   | BERTYBOT_MAX_FILE_SIZE | 25 MiB (in bytes)             |
 * | http          | BERTYBOT_HTTP        | off (`8080` = 127.0.0.1:8080)   |
 * | logLevel      | BERTYBOT_LOG_LEVEL   | info                            |
 * | logFormat     | BERTYBOT_LOG_FORMAT  | pretty                          |
 *
 * Lists (listen, bootstrap, replicas) are comma-separated in the environment.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { parse as parseDotenv } from 'dotenv'
import { z } from 'zod'
import { decodeReplicaLink, DEFAULT_LISTEN, DEFAULT_MAX_FILE_SIZE, type DhtMode, type LogFormat, type LogLevel } from '../protocol/index.ts'
import { ConfigError } from './errors.ts'
import { isTimeZone, notATimeZone } from './time-zones.ts'

export interface BotConfig {
  dataDir: string
  displayName: string | undefined
  listen: string[]
  announce: string[]
  bootstrap: string[]
  replicas: string[]
  dht: DhtMode
  /** Find peers on the local network with mDNS (which announces this peer there). */
  mdns: boolean
  timezone: string
  concurrency: number
  /** The largest file the bot stores or reads, in bytes. */
  maxFileSize: number
  /** Where the HTTP endpoint (`/healthz`, `/metrics`, routes of `bot.http`) listens; none when undefined. */
  http: HttpListen | undefined
  logLevel: LogLevel
  logFormat: LogFormat
}

/** An address for the HTTP endpoint; port 0 lets the system choose. */
export interface HttpListen {
  host: string
  port: number
}

export type BotConfigOptions = Partial<BotConfig> & {
  /** Environment to read instead of `process.env` (tests). */
  env?: Record<string, string | undefined>
  /** The dotenv file to read, or `false` for none. Default: `.env` in the working directory. */
  envFile?: string | false
  /** The bot's own defaults: used when neither code, nor the environment, nor `.env` gives a value. */
  defaults?: Partial<BotConfig>
}

const isMultiaddr = (value: string): boolean => {
  try {
    multiaddr(value)
    return true
  } catch {
    return false
  }
}

const multiaddrSchema = z.string().refine(isMultiaddr, { error: (issue) => `"${String(issue.input)}" is not a multiaddr` })
const peerAddrSchema = multiaddrSchema.refine((s) => s.includes('/p2p/'), { error: (issue) => `"${String(issue.input)}" needs a /p2p/<peer id> part` })
const replicaLinkSchema = z.string().superRefine((value, ctx) => {
  try {
    decodeReplicaLink(value)
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message })
  }
})

/** `on` or `off` (also `true`, `false`, `1`, `0`) in the environment; a boolean in code. */
const switchSchema = z.unknown().transform((value, ctx): boolean => {
  if (typeof value === 'boolean') return value
  const text = String(value).toLowerCase()
  if (['on', 'true', '1'].includes(text)) return true
  if (['off', 'false', '0'].includes(text)) return false
  ctx.addIssue({ code: 'custom', message: `"${String(value)}" is neither on nor off` })
  return z.NEVER
})

const portSchema = z.coerce.number().int('a port is a whole number').min(0).max(65535, 'a port is at most 65535')
const httpObjectSchema = z.object({ host: z.string().min(1), port: portSchema })
/** `off`, `8080` (on 127.0.0.1), `0.0.0.0:8080` or `[::1]:8080`; or `{ host, port }` in code. */
const httpSchema = z.unknown().transform((value, ctx): HttpListen | undefined => {
  if (typeof value === 'object' && value !== null) {
    const parsed = httpObjectSchema.safeParse(value)
    if (parsed.success) return parsed.data
    ctx.addIssue({ code: 'custom', message: parsed.error.issues[0]?.message ?? 'expected { host, port }' })
    return z.NEVER
  }
  if (value === 'off') return undefined
  const text = String(value)
  const match = /^(?:(\[[0-9a-f:.]+\]|[^:\s]+):)?(\d+)$/i.exec(text)
  const port = portSchema.safeParse(match?.[2])
  if (match === null || !port.success) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not an address to listen on: off, a port (8080) or host:port (0.0.0.0:8080)` })
    return z.NEVER
  }
  return { host: (match[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port: port.data }
})

const fields = {
  dataDir: { variable: 'BERTYBOT_DATA', schema: z.string().min(1, 'must not be empty') },
  displayName: { variable: 'BERTYBOT_NAME', schema: z.string().min(1, 'must not be empty').max(200, 'at most 200 characters') },
  listen: { variable: 'BERTYBOT_LISTEN', schema: z.array(multiaddrSchema), list: true },
  announce: { variable: 'BERTYBOT_ANNOUNCE', schema: z.array(multiaddrSchema), list: true },
  bootstrap: { variable: 'BERTYBOT_BOOTSTRAP', schema: z.array(peerAddrSchema), list: true },
  replicas: { variable: 'BERTYBOT_REPLICAS', schema: z.array(replicaLinkSchema), list: true },
  dht: { variable: 'BERTYBOT_DHT', schema: z.enum(['lan', 'public', 'off']) },
  mdns: { variable: 'BERTYBOT_MDNS', schema: switchSchema },
  timezone: { variable: 'BERTYBOT_TIMEZONE', schema: z.string().refine(isTimeZone, { error: (issue) => notATimeZone(String(issue.input)) }) },
  concurrency: { variable: 'BERTYBOT_CONCURRENCY', schema: z.coerce.number().int('must be a whole number').min(1).max(1024) },
  maxFileSize: { variable: 'BERTYBOT_MAX_FILE_SIZE', schema: z.coerce.number().int('must be a whole number of bytes').min(1).max(Number.MAX_SAFE_INTEGER) },
  http: { variable: 'BERTYBOT_HTTP', schema: httpSchema },
  logLevel: { variable: 'BERTYBOT_LOG_LEVEL', schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) },
  logFormat: { variable: 'BERTYBOT_LOG_FORMAT', schema: z.enum(['pretty', 'json']) }
} as const satisfies Record<keyof BotConfig, { variable: string, schema: z.ZodType, list?: boolean }>

const defaults: BotConfig = {
  dataDir: '.bertybot',
  displayName: undefined,
  listen: DEFAULT_LISTEN,
  announce: [],
  bootstrap: [],
  replicas: [],
  dht: 'lan',
  mdns: false,
  timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
  concurrency: 16,
  maxFileSize: DEFAULT_MAX_FILE_SIZE,
  http: undefined,
  logLevel: 'info',
  logFormat: 'pretty'
}

/** The environment as dotenv and the process give it: the process's variables win over the file's. */
export function environment (options: Pick<BotConfigOptions, 'env' | 'envFile'>): Record<string, string | undefined> {
  if (options.env !== undefined) return options.env
  const file = options.envFile === undefined ? '.env' : options.envFile
  let fromFile: Record<string, string> = {}
  if (file !== false) {
    try {
      fromFile = parseDotenv(readFileSync(resolve(file)))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(file, `cannot read it: ${(err as Error).message}`)
    }
  }
  return { ...fromFile, ...process.env }
}

export function loadConfig (options: BotConfigOptions = {}): BotConfig {
  const env = environment(options)
  const config: Record<string, unknown> = { ...defaults }
  const problems: Array<{ variable: string, message: string }> = []
  for (const [key, field] of Object.entries(fields) as Array<[keyof BotConfig, { variable: string, schema: z.ZodType, list?: boolean }]>) {
    const fromCode = options[key]
    const raw = env[field.variable]
    let value: unknown
    let name: string
    if (fromCode !== undefined) {
      value = fromCode
      name = `option ${key}`
    } else if (raw !== undefined && raw.trim() !== '') {
      value = field.list === true ? raw.split(',').map((s) => s.trim()).filter((s) => s !== '') : raw.trim()
      name = field.variable
    } else if (options.defaults?.[key] !== undefined) {
      value = options.defaults[key]
      name = `default ${key}`
    } else {
      continue
    }
    const parsed = field.schema.safeParse(value)
    if (!parsed.success) {
      problems.push({ variable: name, message: parsed.error.issues[0]?.message ?? 'invalid value' })
      continue
    }
    config[key] = parsed.data
  }
  if (problems.length > 0) throw ConfigError.of(problems)
  return config as unknown as BotConfig
}

/** A bot's own settings: a zod object whose keys are environment variable names. */
export type SettingsSchema = z.ZodObject<z.ZodRawShape>

/**
 * Reads a bot's own settings from the environment (and `.env`), validated with
 * `schema`; a bad or missing value is a `ConfigError` naming the variable.
 * Empty values count as not set, so `.env.example` can list every variable.
 */
export function loadSettings<S extends SettingsSchema> (schema: S, options: Pick<BotConfigOptions, 'env' | 'envFile'> = {}): z.output<S> {
  const env = environment(options)
  const values = Object.fromEntries(Object.keys(schema.shape).map((key) => [key, env[key]?.trim() === '' ? undefined : env[key]?.trim()]))
  const parsed = schema.safeParse(values)
  if (!parsed.success) {
    // One problem per variable (the first zod found for it), every variable named.
    const problems = new Map<string, string>()
    for (const issue of parsed.error.issues) {
      const variable = String(issue.path[0] ?? 'settings')
      if (problems.has(variable)) continue
      problems.set(variable, issue.code === 'invalid_type' && values[variable] === undefined ? 'is required' : issue.message)
    }
    throw ConfigError.of([...problems].map(([variable, message]) => ({ variable, message })))
  }
  return parsed.data
}
