/**
 * What the bridge is given (`BridgeOptions`) and what its parts depend on
 * (`BridgeDeps`): apart from `bridge.ts`, which wires them, so that the
 * command modules need nothing of it.
 */
import type { Group } from '../protocol/index.ts'
import type { Bot } from '../framework/index.ts'
import type { AlertmanagerClient } from './alertmanager-api.ts'
import type { BridgeDelivery } from './delivery.ts'
import type { ServedRoutes } from './route-state.ts'
import type { Route } from './routes.ts'
import type { WebhookSource } from './source.ts'

export interface BridgeOptions {
  /** Who may manage routes (and silence from a 1:1 conversation). */
  isAdmin: (account: string) => boolean
  /** The source kinds served. Default: Alertmanager, Grafana, GitHub and generic. */
  sources?: WebhookSource[]
  /** Alertmanager's base URL, for `/alerts`, `/silence`, `/silences`, `/unsilence`. */
  alertmanagerUrl?: string | undefined
  /** A YAML or JSON file of routes (loaded at start and by `reload()`). */
  routesFile?: string | undefined
  /** Messages a group takes a minute before the rest goes into a digest. Default 20. */
  messagesPerMinute?: number
  /** Requests a minute a route takes before 429. Default 600. */
  requestsPerMinute?: number
  /** Largest body, in bytes. Default 1 MiB. */
  bodyLimit?: number
  /** The base URL senders reach the bot at, shown by `/bridge add`. Default: the HTTP endpoint's address. */
  publicUrl?: string | undefined
  /** The same content again in a thread within this time is a redelivery, not a repeat. Default 5 minutes. */
  redeliveryWindowMs?: number
  /**
   * Finds the group a user means by `--to <name>`. Default: a group id, or
   * the name of a group the bot is in.
   */
  resolveGroup?: (reference: string) => Group | undefined
}

/** What the bridge's command modules depend on. */
export interface BridgeDeps {
  readonly bot: Bot<unknown>
  readonly options: BridgeOptions
  readonly sources: ReadonlyMap<string, WebhookSource>
  /** The routes served; a command changes them through `routes.in(ctx)`. */
  readonly routes: ServedRoutes
  readonly delivery: BridgeDelivery
  readonly alertmanager: AlertmanagerClient | undefined
  readonly urlOf: (route: Pick<Route, 'source' | 'name'>) => string
  readonly resolveGroup: (reference: string) => Group | undefined
}
