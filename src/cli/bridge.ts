/**
 * `bertybot bridge`: a bot that only bridges webhooks into groups, the thing
 * an operator runs next to Alertmanager. Admins (BRIDGE_ADMINS) add it as a
 * contact, invite it to their groups, and make routes from the chat.
 */
import { accountListSchema, autoAcceptContacts, ConfigError, createBot, environment } from '../framework/index.ts'
import { bridgeOptions, bridgeSettingsSchema, useBridge } from '../bridge/index.ts'

export const BRIDGE_HELP = `Usage: bertybot bridge --data <dir> --listen <host:port> [--admin <link>]

Runs a bridge bot: webhooks posted to http://<host:port>/hooks/<source>/<route>
go as messages to the route's groups, end-to-end encrypted; the same address
serves GET /healthz and GET /metrics. Sources: alertmanager, grafana, github,
generic (JSON {"text"} or text/plain). Admins add the bot as a contact,
invite it to groups, and make routes from the chat:

  /bridge add <name> <source> [--to <group>]  a route, its URL and secret
  /bridge match <name> <matcher…> --to <group> alerts whose labels match elsewhere
  /bridge list | rotate <name> | rm <name>

With an Alertmanager URL, the groups' members can /alerts, /silence,
/silences and /unsilence (or answer an alert with /silence 1h).
SIGHUP reloads the routes file; SIGTERM stops after sending what is queued.

Options:
  --data <dir>         Data directory (keys, groups, routes and their secrets).
                       Default: $BERTYBOT_DATA, else ./.bertybot-bridge
  --listen <host:port> Where the webhooks, /healthz and /metrics are served
                       (a port alone: 127.0.0.1). Default: $BERTYBOT_HTTP, else 127.0.0.1:8080
  --admin <link>       An admin: a contact link or an account id; repeatable.
                       Default: $BRIDGE_ADMINS
  --mdns               Find peers on the local network with mDNS, and be found: it
                       announces the bot there. Default: $BERTYBOT_MDNS, else off

Environment (also read from ./.env):
  BRIDGE_ADMINS               Admins, comma-separated (when no --admin).
  BRIDGE_ALERTMANAGER_URL     Alertmanager's URL, for /alerts and /silence.
  BRIDGE_ROUTES_FILE          A YAML or JSON file of routes (declarative).
  BRIDGE_MESSAGES_PER_MINUTE  Messages a group takes a minute; past it a digest. Default 20.
  BRIDGE_REQUESTS_PER_MINUTE  Requests a route takes a minute before 429. Default 600.
  BRIDGE_BODY_LIMIT           Largest body in bytes (413 past it). Default 1048576.
  BRIDGE_PUBLIC_URL           The URL senders use, if not --listen's (a reverse proxy).
  BERTYBOT_NAME               The name people see. Default: Bridge
  BERTYBOT_LISTEN, BERTYBOT_ANNOUNCE, BERTYBOT_BOOTSTRAP, BERTYBOT_REPLICAS, BERTYBOT_MDNS
                              The peer's network, as for any bot.
  BERTYBOT_LOG_LEVEL, BERTYBOT_LOG_FORMAT
                              Logging (json for log collectors). Logs go to stderr.
`

export interface BridgeCommandOptions {
  dataDir: string | undefined
  listen: string | undefined
  admins: string[]
  /** Find and be found on the local network (BERTYBOT_MDNS=on). */
  mdns?: boolean
}

const INTRO = 'Hello! I bridge webhooks (Alertmanager, Grafana, GitHub, anything that can POST) into groups. Admins: invite me to a group, then /bridge add <name> <source> there. /help lists the commands.'

/** Runs the bridge until SIGINT or SIGTERM. Throws ConfigError for a bad option or variable. */
export async function runBridge (options: BridgeCommandOptions): Promise<void> {
  // The process's variables over ./.env's, as for any bot (an explicit env would skip the file).
  const env = { ...environment({}) }
  if (options.dataDir !== undefined) env.BERTYBOT_DATA = options.dataDir
  if (options.listen !== undefined) env.BERTYBOT_HTTP = options.listen
  if ((env.BERTYBOT_HTTP ?? '').trim() === '') env.BERTYBOT_HTTP = '127.0.0.1:8080'
  if (options.admins.length > 0) env.BRIDGE_ADMINS = options.admins.join(',')
  if (options.mdns === true) env.BERTYBOT_MDNS = 'on'
  if ((env.BRIDGE_ADMINS ?? '').trim() === '') {
    throw new ConfigError('BRIDGE_ADMINS', 'name at least one admin: --admin <contact link>, or BRIDGE_ADMINS in the environment or ./.env')
  }
  const settings = bridgeSettingsSchema.extend({
    BRIDGE_ADMINS: accountListSchema.refine((ids) => ids.length > 0, 'name at least one admin (--admin <contact link>, or BRIDGE_ADMINS)')
  })
  const bot = await createBot({ settings, env, defaults: { dataDir: '.bertybot-bridge', displayName: 'Bridge' } }).catch((err: unknown) => {
    // A bad --listen is named as the operator gave it, not as the variable it is passed on in.
    if (err instanceof ConfigError && err.variable === 'BERTYBOT_HTTP' && options.listen !== undefined) {
      throw new ConfigError('--listen', err.message.replace(/^BERTYBOT_HTTP: /, ''))
    }
    throw err
  })
  const admins = new Set(bot.settings.BRIDGE_ADMINS)
  const isAdmin = (account: string): boolean => admins.has(account)
  bot.use(autoAcceptContacts())
  const bridge = useBridge(bot, { ...bridgeOptions(bot.settings), isAdmin })
  bot.onContactAccepted(async (ctx) => { await ctx.reply(INTRO) })
  bot.onGroupInvitation(async (ctx) => {
    if (!isAdmin(ctx.sender.account)) return await ctx.reply('I join the groups my admins invite me to; ask one of them.')
    const group = await ctx.accept()
    await ctx.reply(`I joined "${group.name}". /bridge add <name> <source> --to "${group.name}" makes a route to it.`)
  })
  bot.onMessage(async (ctx) => { if (ctx.group.kind === 'contact') await ctx.reply(INTRO) })

  const onHangUp = (): void => { void bridge.reload().catch((err: unknown) => { bot.log.error({ err }, 'reloading the routes file failed') }) }
  process.on('SIGHUP', onHangUp)
  bot.onStop(() => { process.off('SIGHUP', onHangUp) })
  await bot.start()
  const address = bot.httpAddress()
  if (address !== undefined) process.stdout.write(`webhooks at http://${address.host}:${address.port}/hooks/<source>/<route>\n`)
}

export { ConfigError }
