/** `/feed add|list|rm`: admins choose the feeds the bot follows. */
import { z } from 'zod'
import { adminOnly, now, stateOf, who, type AnnounceApp } from './app.ts'
import { describeRecipients, parseRecipients } from './audience.ts'
import { checkFeedUrl, FeedError } from './feed-reader.ts'
import { feedLabel, type FeedPoller } from './feeds.ts'
import type { Feed } from './state.ts'
import { parseDuration, WhenError } from './when.ts'

const MINUTE = 60_000
const EVERY_BOUNDS = { min: MINUTE, max: 7 * 24 * 60 * MINUTE }

export function formatEvery (ms: number): string {
  const minutes = Math.round(ms / MINUTE)
  if (minutes % (24 * 60) === 0) return `${minutes / (24 * 60)}d`
  if (minutes % 60 === 0) return `${minutes / 60}h`
  return minutes > 60 ? `${Math.floor(minutes / 60)}h${minutes % 60}m` : `${minutes}m`
}

function describeFeed (feed: Feed): string {
  const status = feed.failure === undefined ? (feed.primed ? 'ok' : 'not read yet') : `failing since ${feed.failure.since.slice(0, 16).replace('T', ' ')} UTC: ${feed.failure.message}`
  return `${feedLabel(feed)} · ${feed.url} · every ${formatEvery(feed.everyMs)} · to ${describeRecipients(feed.to)} · ${status}`
}

export function setupFeedCommands (app: AnnounceApp, poller: FeedPoller): void {
  const { bot } = app

  bot.command('feed add', {
    args: z.object({ url: z.string(), to: z.string().optional(), every: z.string().optional() }),
    flags: ['to', 'every'],
    description: 'announce new items of an RSS, Atom or JSON feed: /feed add <url> [--to channel] [--every 15m]'
  }, adminOnly(app, async (ctx) => {
    let url: string
    let everyMs: number
    try {
      url = checkFeedUrl(ctx.args.url)
      everyMs = ctx.args.every === undefined ? app.settings.feedEveryMs : parseDuration(ctx.args.every, EVERY_BOUNDS)
    } catch (err) {
      if (err instanceof FeedError || err instanceof WhenError) return await ctx.reply(`${err.message}.`)
      throw err
    }
    const state = stateOf(ctx)
    const to = parseRecipients(ctx.args.to, await state.channels())
    if (typeof to === 'object' && 'error' in to) return await ctx.reply(to.error)
    const feeds = await state.feeds()
    const same = [...feeds.values()].find((f) => f.url === url)
    if (same !== undefined) return await ctx.reply(`I follow that feed already: ${feedLabel(same)}.`)
    const id = String(await state.nextNumber('feed'))
    feeds.set(id, { id, url, everyMs, to, source: 'chat', addedBy: who(ctx.sender), primed: false, validators: {} })
    await state.saveFeeds(feeds)
    await state.record(who(ctx.sender), `added feed #${id}: ${url} to ${describeRecipients(to)}`, now(app))
    ctx.afterCommit(() => { poller.watch(id) })
    await ctx.reply(`Feed #${id} added: I check ${url} every ${formatEvery(everyMs)}; its new items go to ${describeRecipients(to)}. What it lists now is not announced, only what comes next.`)
  }))

  bot.command('feed list', { description: 'the feeds followed, and how they are doing' }, adminOnly(app, async (ctx) => {
    const feeds = [...(await stateOf(ctx).feeds()).values()]
    await ctx.reply(feeds.length === 0 ? 'No feeds. /feed add <url> follows one.' : feeds.map(describeFeed).join('\n'))
  }))

  bot.command('feed rm', { args: z.object({ id: z.string() }), description: 'stop following a feed: /feed rm 2' }, adminOnly(app, async (ctx) => {
    const state = stateOf(ctx)
    const feeds = await state.feeds()
    const input = ctx.args.id.replace(/^#/, '')
    const feed = feeds.get(input) ?? feeds.get(`file:${input}`)
    if (feed === undefined) return await ctx.reply(`There is no feed ${ctx.args.id}. /feed list shows them.`)
    if (feed.source === 'file') return await ctx.reply(`${feedLabel(feed)} comes from the schedule file: change it there, then reload the bot (SIGHUP).`)
    feeds.delete(feed.id)
    await state.saveFeeds(feeds)
    await state.forgetSeen(feed.id)
    await state.record(who(ctx.sender), `removed feed #${feed.id}: ${feed.url}`, now(app))
    ctx.afterCommit(() => { poller.unwatch(feed.id) })
    await ctx.reply(`Feed ${feedLabel(feed)} removed.`)
  }))
}
