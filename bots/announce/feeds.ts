/**
 * Feeds: RSS, Atom and JSON Feed URLs checked on an interval; each new item
 * is announced once. Fetching happens outside any transaction (it may take
 * seconds); what it found is then committed in one `bot.run()`: the
 * announcements, the ids seen, the validators for the next conditional
 * request. So a crash between the two fetches again, and announces nothing
 * twice. A feed that fails is reported to the admins once per failure
 * streak, and once more when it works again.
 */
import type { TaskContext } from 'bertybot'
import { notifyAdmins, now, stateOf, type AnnounceApp } from './app.ts'
import { resolveRecipients } from './audience.ts'
import { fetchFeed, FeedError, type FeedFetchResult, type FeedItem } from './feed-reader.ts'
import type { Feed } from './state.ts'

/** New items announced per check at most: a feed that changed all its ids must not flood its readers. */
const MAX_ANNOUNCED_PER_CHECK = 10
const USER_AGENT = 'bertybot-announce/0.1'

export function feedLabel (feed: Pick<Feed, 'id' | 'url' | 'title'>): string {
  const name = feed.id.startsWith('file:') ? feed.id.slice(5) : `#${feed.id}`
  return `${name} (${feed.title ?? feed.url})`
}

/** Oldest first, as they were published: by date when every item has one, else the reverse of feed order (feeds list newest first). */
function inPublishingOrder (items: FeedItem[]): FeedItem[] {
  if (items.every((i) => i.published !== undefined)) return [...items].sort((a, b) => Number(a.published) - Number(b.published))
  return [...items].reverse()
}

export class FeedPoller {
  readonly #app: AnnounceApp
  readonly #watching = new Map<string, { abort: AbortController, loop: Promise<void> }>()
  #stopped = false

  constructor (app: AnnounceApp) {
    this.#app = app
  }

  /** Watches every feed in state. */
  async start (): Promise<void> {
    const feeds = await this.#app.bot.run(async (ctx) => await stateOf(ctx).feeds())
    for (const id of feeds.keys()) this.watch(id)
  }

  /** Checks a feed now, then every `everyMs`, until it is removed from state or unwatched. */
  watch (id: string): void {
    if (this.#stopped || this.#watching.has(id)) return
    const abort = new AbortController()
    const loop = this.#loop(id, abort.signal).finally(() => {
      if (this.#watching.get(id)?.abort === abort) this.#watching.delete(id)
    })
    this.#watching.set(id, { abort, loop })
  }

  unwatch (id: string): void {
    this.#watching.get(id)?.abort.abort()
    this.#watching.delete(id)
  }

  /** Stops every check, and waits until none is under way. */
  async stop (): Promise<void> {
    this.#stopped = true
    const loops = [...this.#watching.values()]
    for (const { abort } of loops) abort.abort()
    await Promise.allSettled(loops.map(async ({ loop }) => { await loop }))
    this.#watching.clear()
  }

  async #loop (id: string, signal: AbortSignal): Promise<void> {
    const clock = this.#app.bot.clock
    while (!signal.aborted) {
      // From when the check began: a check that took long does not push the next one back.
      const began = clock.now()
      let everyMs: number | undefined
      try {
        everyMs = await this.#check(id, signal)
      } catch (err) {
        if (signal.aborted) return
        this.#app.log.error({ err, feed: id }, 'checking a feed failed; trying again at the next interval')
        everyMs = this.#app.settings.feedEveryMs
      }
      if (everyMs === undefined) return
      try {
        await clock.sleepUntil(began + everyMs, signal)
      } catch {
        return
      }
    }
  }

  /** One check; resolves with the feed's interval, or undefined once the feed is gone. */
  async #check (id: string, signal: AbortSignal): Promise<number | undefined> {
    const { bot, settings } = this.#app
    const feed = (await bot.run(async (ctx) => await stateOf(ctx).feeds())).get(id)
    if (feed === undefined) return undefined
    let result: FeedFetchResult | FeedError
    try {
      result = await fetchFeed(feed.url, { validators: feed.validators, timeoutMs: settings.feedTimeoutMs, signal, userAgent: USER_AGENT })
    } catch (err) {
      if (signal.aborted) return undefined
      if (!(err instanceof FeedError)) throw err
      result = err
    }
    if (signal.aborted) return undefined
    return await bot.run(async (ctx) => await this.#record(ctx, id, result))
  }

  /** Commits what a check found: new items announced, seen ids, validators, failure streaks. */
  async #record (ctx: TaskContext, id: string, result: FeedFetchResult | FeedError): Promise<number | undefined> {
    const state = stateOf(ctx)
    const feeds = await state.feeds()
    const feed = feeds.get(id)
    if (feed === undefined) return undefined
    let next: Feed
    if (result instanceof FeedError) {
      if (feed.failure === undefined) {
        await notifyAdmins(this.#app, ctx, `Feed ${feedLabel(feed)} fails: ${result.message}. I keep trying, and will tell you when it works again.`)
      }
      next = { ...feed, failure: { since: feed.failure?.since ?? now(this.#app).toISOString(), message: result.message } }
      const { code, message } = result
      ctx.afterCommit(() => { ctx.log.warn({ feed: id, code, err: message }, 'a feed check failed') })
    } else {
      if (feed.failure !== undefined) await notifyAdmins(this.#app, ctx, `Feed ${feedLabel(feed)} works again.`)
      const { failure: _, ...rest } = feed
      next = { ...rest, validators: result.validators }
      if (result.status === 'ok') {
        const seen = await state.seen(id)
        const known = new Set(seen)
        const fresh = inPublishingOrder(result.items.filter((item) => !known.has(item.id)))
        if (feed.primed && fresh.length > 0) await this.#announce(ctx, feed, result.title, fresh)
        await state.saveSeen(id, [...fresh.map((item) => item.id).reverse(), ...seen])
        next = { ...next, primed: true, ...(result.title === undefined ? {} : { title: result.title }) }
      }
    }
    feeds.set(id, next)
    await state.saveFeeds(feeds)
    return next.everyMs
  }

  async #announce (ctx: TaskContext, feed: Feed, title: string | undefined, items: FeedItem[]): Promise<void> {
    const { groups, unknown } = await resolveRecipients(ctx.conversations, stateOf(ctx), feed.to)
    if (unknown.length > 0) ctx.afterCommit(() => { ctx.log.warn({ feed: feed.id, channels: unknown }, 'a feed names channels that do not exist; sent to the others') })
    const shown = items.slice(-MAX_ANNOUNCED_PER_CHECK)
    const prefix = title ?? feed.title
    for (const item of shown) {
      const text = `${prefix === undefined ? '' : `[${prefix}] `}${item.title}${item.link === undefined ? '' : `\n${item.link}`}`
      for (const group of groups) await ctx.send(group, text)
    }
    if (items.length > shown.length) {
      for (const group of groups) await ctx.send(group, `…and ${items.length - shown.length} more new items in ${prefix ?? feed.url}.`)
    }
    ctx.afterCommit(() => { ctx.log.info({ feed: feed.id, items: items.length, conversations: groups.length }, 'announced new feed items') })
  }
}
