/**
 * What Alertmanager and Grafana notifications have in common: a group of
 * alerts the sender grouped, rendered as one message that names each alert by
 * the labels that tell it apart from the others in the group, as plain text
 * and in Markdown (`text-style.ts`).
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import { z } from 'zod'
import type { AlertInfo, Notification } from '../source.ts'
import { clip, MAX_MESSAGE_CHARS } from './payload.ts'
import { markdownStyle, plainStyle, type TextStyle } from './text-style.ts'

/** Label and annotation maps as Alertmanager writes them (Go writes an empty map as null). */
export const stringMap = z.record(z.string(), z.string()).nullish().transform((map) => map ?? {})

/** The fields of an alert both senders send, with the types we rely on. */
export const alertFields = {
  status: z.enum(['firing', 'resolved']),
  labels: stringMap,
  annotations: stringMap,
  startsAt: z.string(),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional()
}

/** The group fields both senders send. */
export const groupFields = {
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().optional(),
  groupKey: z.string().optional(),
  groupLabels: stringMap,
  commonLabels: stringMap,
  commonAnnotations: stringMap,
  externalURL: z.string().optional(),
  truncatedAlerts: z.number().int().nonnegative().optional()
}

/** One alert, as a source adapter prepared it. */
export interface AlertEntry {
  readonly fingerprint: string
  readonly status: 'firing' | 'resolved'
  readonly labels: Readonly<Record<string, string>>
  readonly annotations: Readonly<Record<string, string>>
  readonly startsAt: string
  readonly endsAt: string | undefined
  /** Lines shown under the alert's line (values), already formatted. */
  readonly details: readonly string[]
  /** Labelled links (`source`, `silence`): those all the alerts share are shown once, for the group. */
  readonly links: ReadonlyArray<readonly [label: string, url: string]>
}

/** The fields Alertmanager and Grafana both give an alert (Grafana's payload is Alertmanager's, extended). */
export interface PayloadAlert {
  readonly fingerprint?: string | undefined
  readonly status: 'firing' | 'resolved'
  readonly labels: Readonly<Record<string, string>>
  readonly annotations: Readonly<Record<string, string>>
  readonly startsAt: string
  readonly endsAt?: string | undefined
}

/** An alert of a payload as the message shows it, with what its source adds; no fingerprint given, one of its labels. */
export function alertEntry (alert: PayloadAlert, details: readonly string[], links: ReadonlyArray<readonly [string, string]>): AlertEntry {
  return {
    fingerprint: alert.fingerprint !== undefined && alert.fingerprint !== '' ? alert.fingerprint : labelsFingerprint(alert.labels),
    status: alert.status,
    labels: alert.labels,
    annotations: alert.annotations,
    startsAt: alert.startsAt,
    endsAt: alert.endsAt,
    details,
    links
  }
}

/** What a notification says about its group, beyond its alerts. */
export interface AlertGroup {
  /** Who grouped the alerts, for the truncation note: `Alertmanager`, `Grafana`. */
  readonly sender: string
  readonly thread: string | undefined
  readonly groupLabels: Readonly<Record<string, string>>
  /** Alerts of the group the sender left out of the payload. */
  readonly truncated: number
  /** The sender's own headline and text for the whole group (Grafana's title and message): shown only when no alert is left out. */
  readonly title?: string | undefined
  readonly preamble?: readonly string[] | undefined
}

/** At most this many alerts get a line of their own; the others are counted. */
export const MAX_ALERT_LINES = 50
/** Past this many characters, the remaining alerts are counted, not listed (generator URLs can be long). */
const ALERT_LINES_BUDGET = 24_000
const SEVERITY_ORDER = ['critical', 'high', 'error', 'major', 'warning', 'minor', 'medium', 'low', 'info', 'none']

/** Alertmanager's fingerprint is a hash of the labels: ours, for an alert that comes without one. */
export function labelsFingerprint (labels: Readonly<Record<string, string>>): string {
  const sorted = Object.entries(labels).sort(([a], [b]) => compare(a, b))
  return bytesToHex(sha256(utf8ToBytes(JSON.stringify(sorted)))).slice(0, 16)
}

/** `{alertname="HighLatency",instance="a:9100"}`, with quotes and backslashes escaped as in a matcher. */
export function formatMatchers (labels: Readonly<Record<string, string>>, separator = ','): string {
  const pairs = Object.entries(labels).sort(([a], [b]) => compare(a, b))
  return `{${pairs.map(([key, value]) => `${key}="${value.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n')}"`).join(separator)}}`
}

/** `2026-11-25 05:40 UTC`; a time that does not parse is shown as given. */
export function formatTime (time: string): string {
  const date = new Date(time)
  return Number.isNaN(date.getTime()) ? clip(time, 40) : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

/** The notification for `alerts` of a group; undefined when there is none. */
export function alertNotification (group: AlertGroup, alerts: readonly AlertEntry[], whole = true): Notification | undefined {
  if (alerts.length === 0) return undefined
  const firing = alerts.filter((alert) => alert.status === 'firing')
  const status = firing.length > 0 ? 'firing' : 'resolved'
  const common = commonOf(alerts.map((alert) => alert.labels))
  // One alert alone differs from nothing: name it by the labels the group does not already name.
  const distinct = alerts.length === 1
    ? Object.keys(alerts[0]?.labels ?? {}).filter((key) => !Object.hasOwn(group.groupLabels, key) && key !== 'alertname' && key !== 'severity')
    : [...new Set(alerts.flatMap((alert) => Object.keys(alert.labels)))].filter((key) => !Object.hasOwn(common, key))
  const distinctKeys = distinct.sort(compare)
  const infos = alerts.map((alert): AlertInfo => ({
    fingerprint: alert.fingerprint,
    name: alertName(alert.labels, distinctKeys),
    status: alert.status,
    labels: alert.labels
  }))
  const name = common.alertname ?? group.groupLabels.alertname ??
    (Object.keys(group.groupLabels).length > 0 ? formatMatchers(group.groupLabels, ', ') : 'alerts')
  const severity = common.severity ?? worstSeverity(firing.length > 0 ? firing : alerts)
  const resolvedCount = alerts.length - firing.length
  const headline = whole && group.title !== undefined && group.title.trim() !== ''
    ? clip(group.title.trim().split('\n')[0] ?? '', 200)
    : `[${status.toUpperCase()}:${status === 'firing' ? firing.length : alerts.length}] ${clip(name, 120)}` +
      `${severity === undefined ? '' : ` (${clip(severity, 40)})`}${status === 'firing' && resolvedCount > 0 ? `, ${resolvedCount} resolved` : ''}`

  // Written twice, as plain text and in Markdown, line for line: the budget is counted on the plain text.
  const styles = [plainStyle, markdownStyle]
  const lines: string[][] = styles.map((style) => [style.bold(headline)])
  const add = (write: (style: TextStyle) => string[]): void => { styles.forEach((style, i) => { (lines[i] as string[]).push(...write(style)) }) }
  const preamble = whole ? (group.preamble ?? []).filter((line) => line.trim() !== '') : []
  add((style) => preamble.map(style.text))
  const commonNotes = commonOf(alerts.map((alert) => alert.annotations))
  for (const key of ['summary', 'description']) {
    const note = commonNotes[key]?.trim()
    // Grafana's default message already quotes the annotations.
    if (note !== undefined && note !== '' && !preamble.some((line) => line.includes(note))) add((style) => [style.text(clip(note, 1000))])
  }
  const order = alerts.map((alert, index) => ({ alert, info: infos[index] as AlertInfo }))
    .sort((a, b) => (a.alert.status === b.alert.status ? 0 : a.alert.status === 'firing' ? -1 : 1) || compare(a.info.name, b.info.name))
  // A rule's generator URL or a dashboard is usually the same for every alert: say it once.
  const shared = alerts.length === 1 ? [] : (alerts[0]?.links ?? []).filter((link) => alerts.every((alert) => hasLink(alert.links, link)))
  if (shared.length > 0) add((style) => [formatLinks(shared, style)])
  const mixed = resolvedCount > 0 && firing.length > 0
  let shown = 0
  let size = 0
  for (const { alert } of order) {
    if (shown === MAX_ALERT_LINES || size > ALERT_LINES_BUDGET) break
    const block = (style: TextStyle): string[] => {
      const own = formatLinks(alert.links.filter((link) => !hasLink(shared, link)), style)
      return [alertLine(alert, distinctKeys, commonNotes.summary, mixed, style), ...[...alert.details.map(style.text), own].filter((line) => line !== '').map((line) => `  ${line}`)]
    }
    add(block)
    size += block(plainStyle).join('\n').length
    shown++
  }
  if (shown < alerts.length) add(() => [`… and ${alerts.length - shown} more`])
  if (group.truncated > 0) add((style) => [style.text(`+${group.truncated} alert${group.truncated === 1 ? '' : 's'} not shown by ${group.sender}`)])
  const [text, markdown] = lines.map((written) => clip(written.join('\n'), MAX_MESSAGE_CHARS)) as [string, string]

  const notification: Notification = {
    text,
    markdown,
    headline,
    severity,
    alerts: infos,
    thread: group.thread,
    contentKey: contentKey(status, alerts),
    resolvedLine: status === 'resolved' ? `RESOLVED: ${clip(name, 120)} (${alerts.length} alert${alerts.length === 1 ? '' : 's'})` : undefined,
    only: (keep) => {
      const kept = alerts.filter((_, index) => keep(infos[index] as AlertInfo))
      return kept.length === alerts.length ? notification : alertNotification(group, kept, false)
    }
  }
  return notification
}

/** Equal for the same alerts in the same states, whatever order or values they come with: a re-send is a repeat. */
function contentKey (status: string, alerts: readonly AlertEntry[]): string {
  const entries = alerts.map((alert) => [alert.fingerprint, alert.status, alert.startsAt])
    .sort((a, b) => compare(a.join('\n'), b.join('\n')))
  return bytesToHex(sha256(utf8ToBytes(JSON.stringify([status, entries]))))
}

function hasLink (links: ReadonlyArray<readonly [string, string]>, [label, url]: readonly [string, string]): boolean {
  return links.some(([other, otherUrl]) => other === label && otherUrl === url)
}

function formatLinks (links: ReadonlyArray<readonly [string, string]>, style: TextStyle): string {
  return links.map(([label, url]) => style.link(label, url)).join(' · ')
}

function alertLine (alert: AlertEntry, keys: readonly string[], commonSummary: string | undefined, markResolved: boolean, style: TextStyle): string {
  const labels = keys.filter((key) => Object.hasOwn(alert.labels, key)).map((key) => style.code(`${key}="${clip(alert.labels[key] ?? '', 120)}"`)).join(', ')
  const summary = alert.annotations.summary?.trim()
  const own = summary !== undefined && summary !== '' && summary !== commonSummary?.trim() ? style.text(clip(summary, 300)) : undefined
  const ended = alert.status === 'resolved' && alert.endsAt !== undefined && !alert.endsAt.startsWith('0001-')
  const when = style.text(alert.status === 'resolved'
    ? `${markResolved ? 'RESOLVED' : 'resolved'}${ended ? ` at ${formatTime(alert.endsAt ?? '')}` : ''}`
    : `since ${formatTime(alert.startsAt)}`)
  const head = [labels, own].filter((part) => part !== undefined && part !== '').join(': ')
  return `• ${head === '' ? when : `${head} (${when})`}`
}

function alertName (labels: Readonly<Record<string, string>>, keys: readonly string[]): string {
  const shown = keys.filter((key) => key !== 'alertname' && Object.hasOwn(labels, key))
  const base = labels.alertname ?? 'alert'
  return shown.length === 0 ? base : `${base}${formatMatchers(Object.fromEntries(shown.map((key) => [key, clip(labels[key] ?? '', 120)])))}`
}

/** The entries equal in every map. */
function commonOf (maps: ReadonlyArray<Readonly<Record<string, string>>>): Record<string, string> {
  const [first, ...rest] = maps
  const common: Record<string, string> = {}
  for (const [key, value] of Object.entries(first ?? {})) {
    if (rest.every((map) => Object.hasOwn(map, key) && map[key] === value)) common[key] = value
  }
  return common
}

function worstSeverity (alerts: readonly AlertEntry[]): string | undefined {
  const severities = alerts.map((alert) => alert.labels.severity).filter((value) => value !== undefined)
  const rank = (value: string): number => {
    const index = SEVERITY_ORDER.indexOf(value.toLowerCase())
    return index === -1 ? SEVERITY_ORDER.length : index
  }
  return severities.sort((a, b) => rank(a) - rank(b))[0]
}

function compare (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
