/** The webhook sources the bridge knows out of the box. */
import type { WebhookSource } from '../source.ts'
import { alertmanagerSource } from './alertmanager.ts'
import { genericSource } from './generic.ts'
import { githubSource } from './github.ts'
import { grafanaSource } from './grafana.ts'

export { alertmanagerSource, genericSource, githubSource, grafanaSource }

/** Alertmanager, Grafana, GitHub and generic, each a fresh instance. */
export function defaultSources (): WebhookSource[] {
  return [alertmanagerSource(), grafanaSource(), githubSource(), genericSource()]
}
