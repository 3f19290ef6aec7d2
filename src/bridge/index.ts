/**
 * `bertybot/bridge`: webhooks into groups (the alert bridge), and the source
 * adapters for a bot's own routes. A plugin of the framework: it uses only
 * `bertybot`'s and `bertybot/protocol`'s public entry points, and a bot that
 * does not import it carries none of it (Fastify's rate limiter, the
 * Alertmanager client, the sources).
 */
export { bridgeOptions, bridgeSettingsSchema, useBridge, type Bridge, type BridgeSettings } from './bridge.ts'
export type { BridgeOptions } from './bridge-deps.ts'
export { alertmanagerSource, defaultSources, genericSource, githubSource, grafanaSource } from './sources/index.ts'
export type { AlertInfo, Notification, PayloadProblem, WebhookParseResult, WebhookRequest, WebhookRouteInfo, WebhookSource } from './source.ts'
export { AlertmanagerClient, AlertmanagerError } from './alertmanager-api.ts'
export { formatMatchers, matchesLabels, parseMatcher, type Matcher } from './matchers.ts'
export type { Route } from './routes.ts'
