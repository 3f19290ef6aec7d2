/**
 * What the benchmark's sections share: a sender and a receiver compared as a
 * `Pair`, the latency sampling and the burst every section measures the same
 * way, and bertybot's plain group messages between two peers (the baseline of
 * the sections that add something on top of them); for the scale sections,
 * options read from the environment, figures over rounds (median and range),
 * and temporary directories.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger, createPeer, type Group, type MessageEvent, type Peer } from 'bertybot/protocol'

export const TEXT = 'The quick brown fox jumps over the lazy dog; a message of about a hundred bytes, as bots send.'

/** One side of a comparison: sends a message, and tells when the receiver has a given one. */
export interface Pair {
  /** Sends one message; resolves, once the sender is done with it, with what `received` waits for. */
  send: () => Promise<string>
  received: (id: string) => Promise<void>
  stop: () => Promise<void>
}

/** A section's figures: for BENCH_JSON, and as printed. */
export interface Section { json: Record<string, unknown>, lines: string[] }

export function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number
}

export function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

/** Now, in epoch ms: comparable between processes on one machine, finer than `Date.now()`. */
export function now (): number {
  return performance.timeOrigin + performance.now()
}

/**
 * Calls `attempt` until it succeeds, or `timeoutMs` passed or `signal` fired
 * (then throws its last error), pausing about `pauseMs` between tries.
 */
export async function retrying<T> (attempt: () => Promise<T>, timeoutMs: number, options: { pauseMs?: number, signal?: AbortSignal } = {}): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    try {
      return await attempt()
    } catch (err) {
      if (performance.now() > deadline || options.signal?.aborted === true) throw err
      await new Promise((resolve) => setTimeout(resolve, (options.pauseMs ?? 300) * (1 + Math.random())))
    }
  }
}

/** A number from the environment, or `fallback`; anything else than a positive number is an error, not a silent default. */
export function envNumber (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not "${raw}"`)
  return value
}

/** A comma-separated list of positive integers from the environment, or `fallback`. */
export function envSizes (name: string, fallback: number[]): number[] {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const sizes = raw.split(',').map((s) => Number(s.trim()))
  if (sizes.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`${name} must list positive integers, not "${raw}"`)
  return sizes
}

/** A figure over rounds: the median, and the range. */
export interface Spread { median: number, min: number, max: number, rounds: number }

/** The spread of the rounds that produced the figure; undefined if none did. */
export function spread (values: Array<number | undefined>): Spread | undefined {
  const present = values.filter((v): v is number => v !== undefined && Number.isFinite(v))
  if (present.length === 0) return undefined
  return { median: median(present), min: Math.min(...present), max: Math.max(...present), rounds: present.length }
}

/** "12.3 (11.0–14.2)": the median and, over more than one round, the range; "-" for none. */
export function showSpread (s: Spread | undefined, digits = 0): string {
  if (s === undefined) return '-'
  if (s.rounds === 1) return s.median.toFixed(digits)
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`
}

/** The verdict of a target, as the summary lines print it. */
export function verdict (met: boolean): string {
  return met ? 'met' : 'NOT met'
}

export async function tempDir (): Promise<string> {
  return await mkdtemp(join(tmpdir(), 'bertybot-bench-'))
}

export async function removeDirs (dirs: string[]): Promise<void> {
  await Promise.all(dirs.map(async (d) => { await rm(d, { recursive: true, force: true }) }))
}

/** Waiters by id, fed by the receiver's events; an id that arrived first is remembered. */
export function arrivals (): { arrived: (id: string) => void, received: (id: string) => Promise<void> } {
  const seen = new Set<string>()
  const waiting = new Map<string, () => void>()
  return {
    arrived: (id) => {
      const wake = waiting.get(id)
      if (wake === undefined) seen.add(id)
      else { waiting.delete(id); wake() }
    },
    received: async (id) => {
      if (seen.delete(id)) return
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error(`message ${id} not received within 60 s`)) }, 60_000)
        waiting.set(id, () => { clearTimeout(timer); resolve() })
      })
    }
  }
}

/** Latencies of one message at a time, ascending, in ms: from calling `send()`, and from its resolving, to the receiver's event. */
export interface Latencies { fromSend: number[], fromSent: number[] }

export async function sampleLatencies (pair: Pair, samples: number, warmup: number): Promise<Latencies> {
  for (let i = 0; i < warmup; i++) await pair.received(await pair.send())
  const fromSend: number[] = []
  const fromSent: number[] = []
  for (let i = 0; i < samples; i++) {
    const start = performance.now()
    const id = await pair.send()
    const sent = performance.now()
    await pair.received(id)
    const end = performance.now()
    fromSend.push(end - start)
    fromSent.push(end - sent)
  }
  fromSend.sort((a, b) => a - b)
  fromSent.sort((a, b) => a - b)
  return { fromSend, fromSent }
}

/** `count` messages sent back to back: messages per second until the receiver has them all. */
export async function burst (pair: Pair, count: number): Promise<number> {
  const start = performance.now()
  const ids: string[] = []
  for (let i = 0; i < count; i++) ids.push(await pair.send())
  await Promise.all(ids.map(async (id) => { await pair.received(id) }))
  return count / ((performance.now() - start) / 1000)
}

/** Runs `use` on the pair `make` starts in two fresh temporary directories; stops it and removes them after. */
export async function withPair<T> (make: (dirs: string[]) => Promise<Pair>, use: (pair: Pair) => Promise<T>): Promise<T> {
  const dirs = [await mkdtemp(join(tmpdir(), 'bertybot-bench-')), await mkdtemp(join(tmpdir(), 'bertybot-bench-'))]
  try {
    const pair = await make(dirs)
    try {
      return await use(pair)
    } finally {
      await pair.stop()
    }
  } finally {
    await Promise.all(dirs.map(async (d) => { await rm(d, { recursive: true, force: true }) }))
  }
}

/** Two peers in a group: the first sends, the second receives. */
export async function bertybotPair (dirs: string[]): Promise<Pair> {
  const logger = createLogger({ level: 'warn' })
  const a: Peer = await createPeer({ dataDir: dirs[0] as string, logger })
  const b: Peer = await createPeer({ dataDir: dirs[1] as string, logger })
  const joined = new Promise<void>((resolve) => { a.on('memberJoined', () => { resolve() }) })
  const group: Group = await a.createGroup({ name: 'bench' })
  await b.joinGroup(group.invitation())
  await joined
  const { arrived, received } = arrivals()
  b.on('message', (m: MessageEvent) => { arrived(m.id) })
  await received(await group.send({ text: TEXT }))
  return {
    send: async () => await group.send({ text: TEXT }),
    received,
    stop: async () => { await a.stop(); await b.stop() }
  }
}
