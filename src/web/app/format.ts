/** How times, names and colours look: the same everywhere on the page. */

const time = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' })
const weekday = new Intl.DateTimeFormat(undefined, { weekday: 'short' })
const shortDate = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' })
const longDate = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' })
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' })

function startOfDay (ms: number): number {
  const d = new Date(ms)
  d.setHours(0, 0, 0, 0)
  return d.getTime()
}

export function clockTime (ms: number): string {
  return time.format(ms)
}

export function fullTime (ms: number): string {
  return full.format(ms)
}

/** For the conversation list: the time today, the weekday this week, else the date. */
export function listTime (ms: number, now = Date.now()): string {
  const days = Math.round((startOfDay(now) - startOfDay(ms)) / 86_400_000)
  if (days <= 0) return time.format(ms)
  if (days < 7) return weekday.format(ms)
  return shortDate.format(ms)
}

/** A day's heading in the history. */
export function dayLabel (ms: number, now = Date.now()): string {
  const days = Math.round((startOfDay(now) - startOfDay(ms)) / 86_400_000)
  if (days === 0) return 'Today'
  if (days === 1) return 'Yesterday'
  return longDate.format(ms)
}

export function sameDay (a: number, b: number): boolean {
  return startOfDay(a) === startOfDay(b)
}

/** One or two letters for an avatar: the first of the first two words. */
export function initials (name: string): string {
  const words = name.trim().split(/\s+/).filter((w) => /\p{L}|\p{N}/u.test(w))
  const letters = words.slice(0, 2).map((w) => [...w.replace(/^[^\p{L}\p{N}]+/u, '')][0] ?? '')
  return letters.join('').toUpperCase() || '?'
}

/** Avatar and sender-name colours: a palette of classes (no inline styles under the page's CSP). */
export const PALETTE_SIZE = 12

/** The same id always gets the same colour. */
export function colorClass (id: string): string {
  let hash = 2166136261
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 16777619)
  return `tint-${(hash >>> 0) % PALETTE_SIZE}`
}

/** A name to show: names are free text and may be empty. */
export function displayName (name: string, fallback = 'unnamed'): string {
  return name.trim() === '' ? fallback : name
}
