/**
 * Applies the schedule file: its announcements and feeds replace those the
 * previous file gave (ids `file:<id>`), in one transaction; those made in
 * the chat are left alone. An unchanged entry keeps its schedule (and what
 * it knows of its last run); a changed one is armed again under a new
 * version. A one-off whose time passed before the bot saw it is not sent.
 */
import { stateOf, now, type AnnounceApp } from './app.ts'
import { arm, disarmAll } from './announcements.ts'
import type { FeedPoller } from './feeds.ts'
import type { FileAnnouncement, FileFeed, ScheduleFile } from './schedule-file.ts'
import type { Announcement, Feed } from './state.ts'

export interface SyncResult {
  added: string[]
  changed: string[]
  removed: string[]
}

const FILE = 'file:'

function announcementFrom (entry: FileAnnouncement, at: Date): Announcement {
  return {
    id: `${FILE}${entry.id}`,
    text: entry.text,
    timezone: entry.timezone,
    to: entry.to,
    schedule: entry.schedule.kind === 'cron' ? entry.schedule : { kind: 'once', at: entry.schedule.at.toISOString() },
    paused: false,
    done: entry.schedule.kind === 'once' && entry.schedule.at.getTime() <= at.getTime(),
    version: 1,
    source: 'file',
    createdBy: 'schedule file',
    createdAt: at.toISOString()
  }
}

const sameAnnouncement = (a: Announcement, b: Announcement): boolean =>
  a.text === b.text && a.timezone === b.timezone && JSON.stringify(a.to) === JSON.stringify(b.to) && JSON.stringify(a.schedule) === JSON.stringify(b.schedule)

function feedFrom (entry: FileFeed, previous: Feed | undefined, everyMs: number): Feed {
  const base = previous !== undefined && previous.url === entry.url ? previous : { primed: false, validators: {} }
  return { ...base, id: `${FILE}${entry.id}`, url: entry.url, everyMs: entry.everyMs ?? everyMs, to: entry.to, source: 'file', addedBy: 'schedule file' }
}

const sameFeed = (a: Feed, b: Feed): boolean => a.url === b.url && a.everyMs === b.everyMs && JSON.stringify(a.to) === JSON.stringify(b.to)

export async function applyScheduleFile (app: AnnounceApp, poller: FeedPoller, file: ScheduleFile): Promise<SyncResult> {
  return await app.bot.run(async (ctx) => {
    const state = stateOf(ctx)
    const at = now(app)
    const result: SyncResult = { added: [], changed: [], removed: [] }
    const toArm: Announcement[] = []
    const toDisarm: string[] = []

    const announcements = await state.announcements()
    const wanted = new Map(file.announcements.map((entry) => [`${FILE}${entry.id}`, entry]))
    for (const [id, existing] of announcements) {
      if (existing.source !== 'file' || wanted.has(id)) continue
      announcements.delete(id)
      toDisarm.push(id)
      result.removed.push(id.slice(FILE.length))
    }
    for (const [id, entry] of wanted) {
      const existing = announcements.get(id)
      const next = announcementFrom(entry, at)
      if (existing !== undefined && sameAnnouncement(existing, next)) continue
      const armed = existing === undefined ? next : { ...next, version: existing.version + 1, createdAt: existing.createdAt }
      if (armed.done) ctx.log.warn({ announcement: id }, 'a one-off of the schedule file is past its time: not sent')
      announcements.set(id, armed)
      toArm.push(armed)
      ;(existing === undefined ? result.added : result.changed).push(entry.id)
    }
    await state.saveAnnouncements(announcements)

    const feeds = await state.feeds()
    const wantedFeeds = new Map(file.feeds.map((entry) => [`${FILE}${entry.id}`, entry]))
    const watch: string[] = []
    const unwatch: string[] = []
    for (const [id, existing] of feeds) {
      if (existing.source !== 'file' || wantedFeeds.has(id)) continue
      feeds.delete(id)
      await state.forgetSeen(id)
      unwatch.push(id)
      result.removed.push(`feed ${id.slice(FILE.length)}`)
    }
    for (const [id, entry] of wantedFeeds) {
      const existing = feeds.get(id)
      const next = feedFrom(entry, existing, app.settings.feedEveryMs)
      if (existing !== undefined && sameFeed(existing, next)) continue
      if (existing !== undefined && existing.url !== next.url) await state.forgetSeen(id)
      feeds.set(id, next)
      unwatch.push(id)
      watch.push(id)
      ;(existing === undefined ? result.added : result.changed).push(`feed ${entry.id}`)
    }
    await state.saveFeeds(feeds)

    const summary = (Object.entries(result) as Array<[string, string[]]>)
      .filter(([, ids]) => ids.length > 0).map(([verb, ids]) => `${verb} ${ids.join(', ')}`).join('; ')
    if (summary !== '') await state.record('schedule file', summary, at)
    ctx.afterCommit(() => {
      for (const id of toDisarm) disarmAll(app, id)
      for (const a of toArm) arm(app, a)
      for (const id of unwatch) poller.unwatch(id)
      for (const id of watch) poller.watch(id)
    })
    return result
  })
}
