/**
 * Prometheus Alertmanager's webhook receiver (payload version 4): one
 * notification per request, grouped as Alertmanager grouped the alerts, in a
 * thread per group key so that the resolution answers the firing message.
 *
 * @example
 * // alertmanager.yml
 * // receivers: [{ name: bertybot, webhook_configs: [{ url: 'https://bot.example/hooks/alertmanager/ops',
 * //   http_config: { authorization: { credentials: '<secret>' } } }] }]
 */
import { z } from 'zod'
import type { WebhookSource } from '../source.ts'
import { alertEntry, alertFields, alertNotification, formatMatchers, groupFields, type AlertEntry } from './alerts-common.ts'
import { check, parseJsonBody, problem } from './payload.ts'

// Checked first and alone: another version is a different format, whatever else the payload holds.
const versioned = z.looseObject({ version: z.literal('4') })

const payload = z.looseObject({
  ...groupFields,
  alerts: z.array(z.looseObject(alertFields)).min(1, 'is empty: there is no alert to post')
})

export function alertmanagerSource (): WebhookSource {
  return {
    kind: 'alertmanager',
    auth: 'bearer',
    contentTypes: ['application/json'],
    parse: (request) => {
      const json = parseJsonBody(request.body)
      if (!json.ok) return json
      const version = check(versioned, json.value)
      if (!version.ok) return version
      const checked = check(payload, json.value)
      if (!checked.ok) return checked
      const body = checked.value
      const alerts = body.alerts.map((alert): AlertEntry => {
        const links: Array<[string, string]> = []
        if (alert.generatorURL !== undefined && alert.generatorURL.trim() !== '') links.push(['source', alert.generatorURL.trim()])
        const silence = alert.status === 'firing' ? silenceUrl(body.externalURL, alert.labels) : undefined
        if (silence !== undefined) links.push(['silence', silence])
        return alertEntry(alert, [], links)
      })
      const notification = alertNotification({
        sender: 'Alertmanager',
        thread: body.groupKey,
        groupLabels: body.groupLabels,
        truncated: body.truncatedAlerts ?? 0
      }, alerts)
      return notification === undefined ? problem('alerts', 'is empty: there is no alert to post') : { ok: true, notifications: [notification] }
    }
  }
}

/** Alertmanager's "new silence" page, filled with the alert's labels. */
function silenceUrl (externalURL: string | undefined, labels: Readonly<Record<string, string>>): string | undefined {
  const base = externalURL?.trim().replace(/\/+$/, '')
  if (base === undefined || base === '' || URL.parse(base) === null) return undefined
  return `${base}/#/silences/new?filter=${encodeURIComponent(formatMatchers(labels))}`
}
