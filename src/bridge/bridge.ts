/**
 * The alert bridge: webhooks into a bot's groups, as a framework feature any
 * bot can take.
 *
 * ```ts
 * const bot = await createBot({ settings: bridgeSettingsSchema.extend({ ADMINS: accountListSchema }) })
 * useBridge(bot, { ...bridgeOptions(bot.settings), isAdmin: (account) => bot.settings.ADMINS.includes(account) })
 * await bot.start()   // POST /hooks/<source>/<route> on BERTYBOT_HTTP
 * ```
 *
 * Admins make routes from the chat (`/bridge add ops generic`) or a routes
 * file; senders post to `/hooks/<source>/<route>` with the route's secret;
 * the messages go to the route's groups through the durable outbox. With an
 * Alertmanager URL, the groups' members list and silence alerts from the chat.
 */
import { z } from 'zod'
import { namespaced, NotRunningError, type Group } from '../protocol/index.ts'
import { type Bot, ConfigError } from '../framework/index.ts'
import { setupAlertCommands } from './alert-commands.ts'
import { AlertmanagerClient } from './alertmanager-api.ts'
import type { BridgeDeps, BridgeOptions } from './bridge-deps.ts'
import { setupBridgeCommands } from './bridge-commands.ts'
import { BridgeDelivery, type DeliveryRoute } from './delivery.ts'
import { importLegacyRoutes } from './legacy-routes.ts'
import { matchesLabels, parseMatcher } from './matchers.ts'
import { readStoredRoutes, ServedRoutes } from './route-state.ts'
import type { Route } from './routes.ts'
import { loadRoutesFile, RoutesFileError } from './routes-file.ts'
import { mountWebhooks } from './server.ts'
import { defaultSources } from './sources/index.ts'
import type { WebhookSource } from './source.ts'

/** The bridge's settings from the environment, to `.extend()` a bot's own settings schema with. */
export const bridgeSettingsSchema = z.object({
  /** Alertmanager's base URL, for talking back (`/alerts`, `/silence`). */
  BRIDGE_ALERTMANAGER_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL, like http://127.0.0.1:9093' }).optional(),
  /** A YAML or JSON file of routes. */
  BRIDGE_ROUTES_FILE: z.string().min(1).optional(),
  BRIDGE_MESSAGES_PER_MINUTE: z.coerce.number().int().min(1).max(600).default(20),
  BRIDGE_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  BRIDGE_BODY_LIMIT: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  /** How senders reach the bot, if not at the HTTP endpoint's own address (a reverse proxy). */
  BRIDGE_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional()
})

export type BridgeSettings = z.output<typeof bridgeSettingsSchema>

/** The options `bridgeSettingsSchema`'s variables give. */
export function bridgeOptions (settings: BridgeSettings): Omit<BridgeOptions, 'isAdmin'> {
  return {
    alertmanagerUrl: settings.BRIDGE_ALERTMANAGER_URL,
    routesFile: settings.BRIDGE_ROUTES_FILE,
    messagesPerMinute: settings.BRIDGE_MESSAGES_PER_MINUTE,
    requestsPerMinute: settings.BRIDGE_REQUESTS_PER_MINUTE,
    bodyLimit: settings.BRIDGE_BODY_LIMIT,
    publicUrl: settings.BRIDGE_PUBLIC_URL
  }
}

/** What a bot with the bridge can do with it. */
export interface Bridge {
  /** The routes served, once started. */
  routes: () => Route[]
  /** Loads the routes file again: applied whole, or refused whole (the routes in force stay). */
  reload: () => Promise<RoutesFileError | undefined>
  /** The URL a route is reached at. */
  urlOf: (route: Pick<Route, 'source' | 'name'>) => string
}

/** Adds the bridge to `bot` (before `bot.start()`, which then needs `BERTYBOT_HTTP`). */
export function useBridge (bot: Bot<unknown>, options: BridgeOptions): Bridge {
  const log = namespaced(bot.log, 'bridge')
  const sources = new Map((options.sources ?? defaultSources()).map((s) => [s.kind, s]))
  const routes = new ServedRoutes()
  let started = false
  const delivery = new BridgeDelivery(bot, log, {
    perMinute: options.messagesPerMinute ?? 20,
    redeliveryWindowMs: options.redeliveryWindowMs ?? 5 * 60_000,
    silenceButtons: options.alertmanagerUrl !== undefined
  })
  const urlOf = (route: Pick<Route, 'source' | 'name'>): string => {
    const address = bot.httpAddress()
    const base = options.publicUrl ?? (address === undefined ? 'http://127.0.0.1' : `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`)
    return `${base.replace(/\/+$/, '')}/hooks/${route.source}/${route.name}`
  }
  const resolveGroup = options.resolveGroup ?? ((reference: string) => defaultResolveGroup(bot, reference))
  const app: BridgeDeps = {
    bot,
    options,
    sources,
    routes,
    delivery,
    alertmanager: options.alertmanagerUrl === undefined ? undefined : new AlertmanagerClient({ url: options.alertmanagerUrl }),
    urlOf,
    resolveGroup
  }

  const compiled = new WeakMap<Route, DeliveryRoute>()
  mountWebhooks(bot.http, {
    sources,
    route: (name) => {
      // The server listens before the start hooks have read the routes: senders are told to come back.
      if (!routes.loaded) throw new NotRunningError('the bridge is starting')
      return routes.get(name)
    },
    accept: async (route, notifications, deliveryId) => {
      let target = compiled.get(route)
      if (target === undefined) {
        target = compileRoute(route)
        compiled.set(route, target)
      }
      return await delivery.accept(target, notifications, deliveryId)
    },
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    ratePerMinute: options.requestsPerMinute ?? 600,
    log,
    registry: bot.metrics.registry
  })
  setupBridgeCommands(app)
  setupAlertCommands(app)

  const reload = async (): Promise<RoutesFileError | undefined> => {
    const path = options.routesFile
    if (path === undefined) return undefined
    if (!started) throw new ConfigError('bridge', 'the bridge is not started')
    try {
      const fileRoutes = await loadRoutesFile(path, { sources: [...sources.keys()], resolveGroup, now: new Date(bot.clock.now()) })
      routes.setFileRoutes(fileRoutes)
      log.info({ path, routes: fileRoutes.map((r) => r.name) }, 'routes file applied')
      return undefined
    } catch (err) {
      if (!(err instanceof RoutesFileError)) throw err
      log.error({ path }, `routes file refused, the routes in force are unchanged: ${err.message}`)
      return err
    }
  }

  bot.onStart(async () => {
    started = true
    await importLegacyRoutes(bot, log)
    const refused = await reload()
    // At start a wrong file stops the bot: it would otherwise serve none of the file's routes.
    if (refused !== undefined) throw refused
    routes.committed(await bot.run(async (ctx) => await readStoredRoutes(ctx.botState)))
    await delivery.start()
    log.info({ routes: routes.list().map((r) => `${r.source}/${r.name}`) }, 'bridge ready')
  })
  bot.onStop(async () => { await delivery.stop() })

  return { routes: () => routes.loaded ? routes.list() : [], reload, urlOf }
}

/** A route's matcher rules compiled, for delivery. */
export function compileRoute (route: Route): DeliveryRoute {
  return {
    name: route.name,
    to: route.to,
    rules: route.matchers.map((rule) => {
      const matchers = rule.match.map((m) => parseMatcher(m))
      return { to: rule.to, matches: (labels: Readonly<Record<string, string>>) => matchesLabels(matchers, labels) }
    })
  }
}

/** A group id, or the name of exactly one multi-member group the bot is in. */
function defaultResolveGroup (bot: Bot<unknown>, reference: string): Group | undefined {
  const byId = bot.peer.group(reference)
  if (byId !== undefined) return byId
  const named = bot.peer.groups().filter((g) => g.kind === 'multi-member' && g.name.toLowerCase() === reference.toLowerCase())
  return named.length === 1 ? named[0] : undefined
}
