/**
 * Flood control for one group: at most `perMinute` bridge messages in any
 * minute. Past that, what comes is kept in a digest that goes out as soon as
 * the minute lets it, naming each alert once with its last status
 * ("+37 more firing: …"). Pure functions over a state the bridge stores.
 */
import { z } from 'zod'
import { MAX_TEXT_LENGTH } from '../protocol/index.ts'

export const WINDOW_MS = 60_000
/** A digest longer than this is cut into several messages, each naming its own alerts. */
const DIGEST_CHUNK = Math.min(8000, MAX_TEXT_LENGTH)

const digestEntrySchema = z.object({
  /** An alert's fingerprint, or the notification's headline for other sources. */
  key: z.string(),
  name: z.string(),
  status: z.enum(['firing', 'resolved']).optional()
})

export const floodStateSchema = z.object({
  /** When each message of the last minute was posted (ms, ascending). */
  sent: z.array(z.number()),
  /** What waits for a free slot, in arrival order, each key once. */
  digest: z.array(digestEntrySchema).optional()
})

export type FloodState = z.output<typeof floodStateSchema>
export type DigestEntry = z.output<typeof digestEntrySchema>

export function emptyFloodState (): FloodState {
  return { sent: [] }
}

function recent (state: FloodState, now: number): number[] {
  return state.sent.filter((at) => at > now - WINDOW_MS)
}

/**
 * Whether a message may be posted now; if so it is counted. A group with a
 * digest waiting takes nothing directly, so that the digest keeps the order.
 */
export function admit (state: FloodState, now: number, perMinute: number): { state: FloodState, admitted: boolean } {
  const sent = recent(state, now)
  if ((state.digest?.length ?? 0) > 0 || sent.length >= perMinute) return { state: { ...state, sent }, admitted: false }
  return { state: { ...state, sent: [...sent, now] }, admitted: true }
}

/** Keeps entries for the digest; an entry already there takes the later status, and keeps its place. */
export function addToDigest (state: FloodState, entries: readonly DigestEntry[]): FloodState {
  const digest = [...(state.digest ?? [])]
  const index = new Map(digest.map((entry, i) => [entry.key, i]))
  for (const entry of entries) {
    const at = index.get(entry.key)
    if (at === undefined) {
      index.set(entry.key, digest.length)
      digest.push(entry)
    } else {
      digest[at] = entry
    }
  }
  return { ...state, digest }
}

/** When the group has a free slot again (now if it has one). */
export function nextSlot (state: FloodState, now: number, perMinute: number): number {
  const sent = recent(state, now)
  if (sent.length < perMinute) return now
  return (sent[sent.length - perMinute] as number) + WINDOW_MS
}

/**
 * The digest's messages, if one waits and a slot is free. Each counts as a
 * post: a digest too long for one message delays the next ones.
 */
export function takeDigest (state: FloodState, now: number, perMinute: number): { state: FloodState, messages: string[] } {
  const digest = state.digest ?? []
  if (digest.length === 0 || nextSlot(state, now, perMinute) > now) return { state, messages: [] }
  const messages = formatDigest(digest)
  return { state: { sent: [...recent(state, now), ...messages.map(() => now)] }, messages }
}

/** "+3 more firing: A, B, C", "+1 resolved: D", "+2 more messages:" with a line each; cut into chunks. */
export function formatDigest (entries: readonly DigestEntry[]): string[] {
  const firing = entries.filter((e) => e.status === 'firing').map((e) => e.name)
  const resolved = entries.filter((e) => e.status === 'resolved').map((e) => e.name)
  const other = entries.filter((e) => e.status === undefined).map((e) => e.name)
  const chunks: string[] = []
  const listed = (heading: (n: number) => string, names: string[], separator: string): void => {
    // Room for the heading ("+1234 more messages:") is kept in each chunk.
    const HEADING = 32
    let part: string[] = []
    let length = HEADING
    const flush = (): void => {
      if (part.length > 0) chunks.push(`${heading(part.length)}${separator === '\n' ? '\n' : ' '}${part.join(separator)}`)
      part = []
      length = HEADING
    }
    for (const name of names) {
      if (length + name.length > DIGEST_CHUNK) flush()
      part.push(name)
      length += name.length + separator.length
    }
    flush()
  }
  listed((n) => `+${n} more firing:`, firing, ', ')
  listed((n) => `+${n} resolved:`, resolved, ', ')
  listed((n) => `+${n} more message${n === 1 ? '' : 's'}:`, other.map((line) => `- ${line}`), '\n')
  // Short parts travel together, up to a chunk.
  const messages: string[] = []
  for (const chunk of chunks) {
    const last = messages.at(-1)
    if (last !== undefined && last.length + chunk.length + 1 <= DIGEST_CHUNK) messages[messages.length - 1] = `${last}\n${chunk}`
    else messages.push(chunk)
  }
  return messages
}
