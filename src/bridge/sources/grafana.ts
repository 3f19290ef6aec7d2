/**
 * Grafana's webhook contact point (unified alerting): Alertmanager's payload
 * plus Grafana's own title, state and message, and for each alert the query
 * values and links to its silence, dashboard and panel. The legacy (pre-8)
 * payload, which has no `alerts`, is not taken.
 */
import { z } from 'zod'
import type { WebhookSource } from '../source.ts'
import { alertEntry, alertFields, alertNotification, groupFields, type AlertEntry } from './alerts-common.ts'
import { check, clip, parseJsonBody, problem } from './payload.ts'

const grafanaAlert = z.looseObject({
  ...alertFields,
  // Go writes a map with no entries as null.
  values: z.record(z.string(), z.number()).nullish(),
  valueString: z.string().optional(),
  silenceURL: z.string().optional(),
  dashboardURL: z.string().optional(),
  panelURL: z.string().optional()
})

const payload = z.looseObject({
  ...groupFields,
  title: z.string().optional(),
  state: z.string().optional(),
  message: z.string().optional(),
  alerts: z.array(grafanaAlert).min(1, 'is empty: there is no alert to post')
})

/** Grafana's message repeats every alert; past this it is cut (the alert lines follow anyway). */
const MAX_GRAFANA_MESSAGE = 2000

export function grafanaSource (): WebhookSource {
  return {
    kind: 'grafana',
    auth: 'bearer',
    contentTypes: ['application/json'],
    parse: (request) => {
      const json = parseJsonBody(request.body)
      if (!json.ok) return json
      const checked = check(payload, json.value)
      if (!checked.ok) return checked
      const body = checked.value
      const alerts = body.alerts.map((alert): AlertEntry => {
        const details: string[] = []
        const values = formatValues(alert.values)
        if (values !== undefined) details.push(`values: ${values}`)
        else if (alert.valueString !== undefined && alert.valueString.trim() !== '') details.push(`values: ${clip(alert.valueString.trim(), 300)}`)
        const links = [['silence', alert.status === 'firing' ? alert.silenceURL : undefined], ['dashboard', alert.dashboardURL], ['panel', alert.panelURL]]
          .filter((link): link is [string, string] => link[1] !== undefined && link[1].trim() !== '')
          .map(([label, url]): [string, string] => [label, url.trim()])
        return alertEntry(alert, details, links)
      })
      const preamble: string[] = []
      if (body.state !== undefined && body.state.trim() !== '') preamble.push(`State: ${clip(body.state.trim(), 40)}`)
      if (body.message !== undefined && body.message.trim() !== '') preamble.push(clip(body.message.trim(), MAX_GRAFANA_MESSAGE))
      const notification = alertNotification({
        sender: 'Grafana',
        thread: body.groupKey,
        groupLabels: body.groupLabels,
        truncated: body.truncatedAlerts ?? 0,
        title: body.title,
        preamble
      }, alerts)
      return notification === undefined ? problem('alerts', 'is empty: there is no alert to post') : { ok: true, notifications: [notification] }
    }
  }
}

/** `A=97.2, B=1`: six significant digits are plenty for a glance. */
function formatValues (values: Readonly<Record<string, number>> | null | undefined): string | undefined {
  if (values === null || values === undefined) return undefined
  const entries = Object.entries(values).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  if (entries.length === 0) return undefined
  return clip(entries.map(([key, value]) => `${key}=${Number.isInteger(value) ? value : Number(value.toPrecision(6))}`).join(', '), 300)
}
