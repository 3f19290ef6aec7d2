/**
 * `/bridge ...`: admins make, list, re-key and remove webhook routes from the
 * chat. A secret is only ever told in the admin's 1:1 conversation with the
 * bot, never in a group. A command reads and changes the routes in its own
 * transaction (`route-state.ts`): the route and the answer are committed
 * together, or, after a crash, neither, and the command is handled again.
 */
import { z } from 'zod'
import type { CommandContext, Conversation } from '../framework/index.ts'
import type { BridgeDeps } from './bridge-deps.ts'
import { formatMatchers, parseMatcher } from './matchers.ts'
import type { RouteChanges } from './route-state.ts'
import { newSecret, routeNameSchema, type Route } from './routes.ts'

const REFUSAL = 'Sorry, only the admins of this bot can manage webhook routes.'

export function setupBridgeCommands (app: BridgeDeps): void {
  const { bot } = app
  const kinds = (): string => [...app.sources.keys()].join(', ')

  bot.command('bridge add', {
    args: z.object({ name: z.string(), source: z.string(), to: z.string().optional() }),
    flags: ['to'],
    description: `make a webhook route and get its URL and secret: /bridge add <name> <source> [--to <group>] (admins)`
  }, async (ctx) => {
    if (!app.options.isAdmin(ctx.sender.account)) return await ctx.reply(REFUSAL)
    const name = routeNameSchema.safeParse(ctx.args.name)
    if (!name.success) return await ctx.reply(`"${ctx.args.name}": ${name.error.issues[0]?.message ?? 'not a route name'}.`)
    if (!app.sources.has(ctx.args.source)) return await ctx.reply(`There is no webhook source "${ctx.args.source}": use one of ${kinds()}.`)
    const routes = await app.routes.in(ctx)
    const existing = routes.get(name.data)
    if (existing !== undefined) {
      if (existing.madeBy === ctx.message.id) return await tell(app, ctx, existing, 'ready')
      return await ctx.reply(`There is a route named ${name.data} already: /bridge rotate ${name.data} gives it a new secret, /bridge rm ${name.data} removes it.`)
    }
    const target = await targetGroups(app, routes, ctx, ctx.args.to, name.data)
    if ('error' in target) return await ctx.reply(target.error)
    const route: Route = {
      name: name.data,
      source: ctx.args.source,
      to: target.groups.map((g) => g.id),
      secret: newSecret(),
      matchers: [],
      origin: 'chat',
      createdAt: new Date(bot.clock.now()).toISOString(),
      madeBy: ctx.message.id
    }
    await routes.put(route)
    ctx.afterCommit(() => { bot.log.info({ route: route.name, source: route.source, by: ctx.sender.account }, 'webhook route added') })
    await tell(app, ctx, route, 'ready', target.created)
  })

  bot.command('bridge match', {
    args: z.object({ name: z.string(), matchers: z.string(), to: z.string() }),
    flags: ['to'],
    description: 'send a route\'s alerts whose labels match to other groups: /bridge match <name> severity="critical" --to <group> (admins)'
  }, async (ctx) => {
    if (!app.options.isAdmin(ctx.sender.account)) return await ctx.reply(REFUSAL)
    const routes = await app.routes.in(ctx)
    const route = await chatRoute(routes, ctx, ctx.args.name)
    if (route === undefined) return
    const words = ctx.args.matchers.split(/\s+/).filter((w) => w !== '')
    try {
      words.forEach((w) => parseMatcher(w))
    } catch (err) {
      return await ctx.reply(`${(err as Error).message}. A matcher is like severity="critical" or instance=~"db-.*".`)
    }
    const target = await targetGroups(app, routes, ctx, ctx.args.to, route.name)
    if ('error' in target) return await ctx.reply(target.error)
    const rule = { match: words, to: target.groups.map((g) => g.id) }
    await routes.put({ ...route, matchers: [...route.matchers.filter((r) => r.match.join(' ') !== words.join(' ')), rule] })
    await ctx.reply(`Alerts of ${route.name} matching ${formatMatchers(words.map((w) => parseMatcher(w)))} go to ${target.groups.map((g) => g.name).join(', ')} now.`)
  })

  bot.command('bridge list', { description: 'list the webhook routes (admins)' }, async (ctx) => {
    if (!app.options.isAdmin(ctx.sender.account)) return await ctx.reply(REFUSAL)
    const routes = app.routes.list()
    if (routes.length === 0) return await ctx.reply('No webhook routes yet: /bridge add <name> <source> makes one.')
    const groupNames = (ids: readonly string[]): string => ids.map((id) => bot.peer.group(id)?.name ?? `(a group the bot left: ${id.slice(0, 8)})`).join(', ')
    const lines = routes.map((r) => {
      const rules = r.matchers.map((m) => `\n    ${formatMatchers(m.match.map((w) => parseMatcher(w)))} → ${groupNames(m.to)}`).join('')
      return `${r.name} (${r.source}${r.origin === 'file' ? ', from the routes file' : ''}) → ${groupNames(r.to)}\n    ${app.urlOf(r)}${rules}`
    })
    await ctx.reply(['Webhook routes:', ...lines].join('\n'))
  })

  bot.command('bridge rotate', {
    args: z.object({ name: z.string() }),
    description: 'give a route a new secret (the old one stops working) (admins)'
  }, async (ctx) => {
    if (!app.options.isAdmin(ctx.sender.account)) return await ctx.reply(REFUSAL)
    const routes = await app.routes.in(ctx)
    const route = await chatRoute(routes, ctx, ctx.args.name)
    if (route === undefined) return
    if (route.madeBy === ctx.message.id) return await tell(app, ctx, route, 'rotated')
    const rotated = { ...route, secret: newSecret(), madeBy: ctx.message.id }
    await routes.put(rotated)
    ctx.afterCommit(() => { bot.log.info({ route: route.name, by: ctx.sender.account }, 'webhook route secret rotated') })
    await tell(app, ctx, rotated, 'rotated')
  })

  bot.command('bridge rm', {
    args: z.object({ name: z.string() }),
    description: 'remove a webhook route (admins)'
  }, async (ctx) => {
    if (!app.options.isAdmin(ctx.sender.account)) return await ctx.reply(REFUSAL)
    const routes = await app.routes.in(ctx)
    const route = routes.get(ctx.args.name)
    if (route === undefined) return await ctx.reply(`There is no route ${ctx.args.name}${routes.list().length > 0 ? ' (/bridge list shows them)' : ''}.`)
    if (route.origin === 'file') return await ctx.reply(`${route.name} comes from the routes file: remove it there.`)
    await routes.remove(route.name)
    ctx.afterCommit(() => { bot.log.info({ route: route.name, by: ctx.sender.account }, 'webhook route removed') })
    await ctx.reply(`Route ${route.name} is removed: ${app.urlOf(route)} answers 404 now.`)
  })
}

/** A route made from the chat, or a reply saying why not. */
async function chatRoute (routes: RouteChanges, ctx: CommandContext<unknown>, name: string): Promise<Route | undefined> {
  const route = routes.get(name)
  if (route === undefined) {
    await ctx.reply(`There is no route ${name}. /bridge list shows them.`)
    return undefined
  }
  if (route.origin === 'file') {
    await ctx.reply(`${route.name} comes from the routes file: change it there.`)
    return undefined
  }
  return route
}

/**
 * The groups `--to` names (comma-separated); without it, the group the
 * command was sent in, or, in a 1:1 conversation, a new group named after
 * the route (one made by an earlier run of the same command is reused).
 */
async function targetGroups (app: BridgeDeps, routes: RouteChanges, ctx: CommandContext<unknown>, to: string | undefined, name: string): Promise<{ groups: Conversation[], created?: Conversation } | { error: string }> {
  if (to !== undefined) {
    const groups: Conversation[] = []
    for (const reference of to.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      const resolved = app.resolveGroup(reference)
      const group = resolved === undefined ? undefined : ctx.conversations.get(resolved.id)
      if (group === undefined) {
        const known = ctx.conversations.list().filter((g) => g.kind === 'multi-member').map((g) => g.name)
        return { error: `I am in no group "${reference}"${known.length > 0 ? `; I am in: ${known.join(', ')}` : ''}. Invite me to it first.` }
      }
      groups.push(group)
    }
    return groups.length === 0 ? { error: 'Name a group after --to.' } : { groups }
  }
  if (ctx.group.kind === 'multi-member') return { groups: [ctx.group] }
  const used = new Set(routes.list().flatMap((r) => [...r.to, ...r.matchers.flatMap((m) => m.to)]))
  const group = ctx.conversations.list().find((g) => g.kind === 'multi-member' && g.name === name && !used.has(g.id)) ?? await ctx.createGroup({ name })
  return { groups: [group], created: group }
}

/** Tells the admin a route's URL and secret, in their 1:1 conversation only; the group hears only that it is set. */
async function tell (app: BridgeDeps, ctx: CommandContext<unknown>, route: Route, what: 'ready' | 'rotated', created?: Conversation): Promise<void> {
  const groups = route.to.map((id) => ctx.conversations.get(id)?.name ?? id.slice(0, 8)).join(', ')
  const headline = what === 'ready' ? `Route ${route.name} (${route.source}) posts to ${groups}.` : `Route ${route.name} has a new secret; the old one no longer works.`
  const details = [headline, `URL: ${app.urlOf(route)}`, `Secret: ${route.secret}`, howToUse(route, app.urlOf(route))]
  if (created !== undefined) details.push(`I made the group "${created.name}" for it. Whoever opens this invitation joins it:\n${created.invitation()}`)
  if (ctx.group.kind === 'contact') return await ctx.reply(details.join('\n'))
  const contact = ctx.conversations.contact(ctx.sender.account)
  if (contact?.state !== 'accepted' || contact.conversation === undefined) {
    return await ctx.reply(`${headline} Its secret is only told in a 1:1 conversation: add me as a contact, then /bridge rotate ${route.name} there.`)
  }
  await ctx.send(contact.conversation, details.join('\n'))
  await ctx.reply(`${headline} I sent you its URL and secret privately.`)
}

function howToUse (route: Route, url: string): string {
  switch (route.source) {
    case 'alertmanager':
      return `In alertmanager.yml:\nreceivers:\n- name: bertybot\n  webhook_configs:\n  - url: ${url}\n    send_resolved: true\n    http_config:\n      authorization:\n        credentials: ${route.secret}`
    case 'grafana':
      return 'In Grafana: a contact point of type Webhook with this URL, and under Optional settings the Authorization header scheme "Bearer" with this secret as credentials.'
    case 'github':
      return 'In the repository\'s Settings → Webhooks: this URL as the Payload URL, content type application/json, this secret as the Secret.'
    case 'generic':
      return `Try it: curl -H "Authorization: Bearer ${route.secret}" -d "backup done" ${url}`
    default:
      return `Send it with the header Authorization: Bearer ${route.secret}`
  }
}
