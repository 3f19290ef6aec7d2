/**
 * Announcements: texts sent on a cron schedule or once, to channels and
 * subscribers. Each is kept in the bot's state and armed as a schedule of
 * the bot; a run sends to every recipient in one transaction with the
 * record that it ran, so a crash halfway resumes from the outbox and sends
 * nothing twice, and a restart never runs an occurrence twice.
 *
 * Occurrences missed while the bot was down are sent once, late, or skipped
 * with a log line and a line in `/announce log` (`ANNOUNCE_MISSED`). Pausing and editing change an
 * announcement's version, and so the name of its schedule: what fell due
 * while it was paused is not caught up on resume.
 */
import { ScheduleError, validateSchedule, type Middleware, type ScheduleContext } from 'bertybot'
import { stateOf, type AnnounceApp } from './app.ts'
import { describeRecipients, resolveRecipients } from './audience.ts'
import type { Announcement } from './state.ts'
import { formatInstant } from './when.ts'

/** The name of an announcement's schedule (in this version). */
export function scheduleName (a: Pick<Announcement, 'id' | 'version'>): string {
  return `announcement/${a.id}/v${a.version}`
}

/** Arms an announcement's schedule (again, if it was), unless it is paused or done. */
export function arm (app: AnnounceApp, a: Announcement): void {
  disarmAll(app, a.id)
  if (a.paused || a.done) return
  const when = a.schedule.kind === 'cron' ? a.schedule.expression : new Date(a.schedule.at)
  app.bot.schedule(when, run(app, a.id, a.version), {
    name: scheduleName(a),
    timezone: a.timezone,
    // Missed runs always come to `run`, which sends them late or records that it skipped them.
    missed: 'run'
  })
}

/** Removes every schedule of an announcement, whatever its version. */
export function disarmAll (app: AnnounceApp, id: string): void {
  const prefix = `announcement/${id}/`
  for (const schedule of app.bot.schedules()) {
    if (schedule.name.startsWith(prefix)) app.bot.unschedule(schedule.name)
  }
}

/** When an announcement runs next, if it is armed. */
export function nextRun (app: AnnounceApp, a: Announcement): Date | undefined {
  return app.bot.schedules().find((s) => s.name === scheduleName(a))?.nextRun
}

/** One run: the announcement as it is now in state, to its recipients as they are now. */
function run (app: AnnounceApp, id: string, version: number): Middleware<ScheduleContext> {
  return async (ctx) => {
    const state = stateOf(ctx)
    const all = await state.announcements()
    const a = all.get(id)
    // Removed, paused or changed since it was armed: that schedule is not its own any more.
    if (a === undefined || a.paused || a.done || a.version !== version) return
    const due = formatInstant(ctx.schedule.scheduledAt, a.timezone)
    if (ctx.schedule.late && app.settings.missed === 'skip') {
      // Logged once committed: a run that loses a race with another change of the state runs again.
      ctx.afterCommit(() => { ctx.log.warn({ announcement: id, due: ctx.schedule.scheduledAt.toISOString() }, 'skipped an announcement that fell due while the bot was down (ANNOUNCE_MISSED=skip)') })
      await state.record('bot', `skipped #${id}, due ${due} while the bot was down`, new Date(ctx.clock.now()))
    } else {
      const { groups, unknown } = await resolveRecipients(ctx.conversations, state, a.to)
      const late = ctx.schedule.late ? `\n\n(Sent late: this was due ${due}, while the bot was down.)` : ''
      for (const group of groups) await ctx.send(group, `${a.text}${late}`)
      if (unknown.length > 0) {
        ctx.afterCommit(() => { ctx.log.warn({ announcement: id, channels: unknown }, 'an announcement names channels that do not exist; sent to the others') })
        await state.record('bot', `#${id} could not reach ${unknown.join(', ')}: no such channel`, new Date(ctx.clock.now()))
      }
      ctx.afterCommit(() => { ctx.log.info({ announcement: id, conversations: groups.length, late: ctx.schedule.late }, 'sent an announcement') })
    }
    if (a.schedule.kind === 'once') {
      all.set(id, { ...a, done: true })
      await state.saveAnnouncements(all)
    }
  }
}

/** Checks a cron expression and time zone from a user; a reply saying what is wrong, or undefined. */
export function checkCron (expression: string, timezone: string): string | undefined {
  try {
    validateSchedule(expression, timezone)
    return undefined
  } catch (err) {
    if (err instanceof ScheduleError) return `${err.message.charAt(0).toUpperCase()}${err.message.slice(1)}.`
    throw err
  }
}

/** One line of `/announce list`. */
export function describeAnnouncement (app: AnnounceApp, a: Announcement): string {
  const name = a.source === 'file' ? `${a.id.replace(/^file:/, '')} (file)` : `#${a.id}`
  const when = a.schedule.kind === 'cron' ? `"${a.schedule.expression}" ${a.timezone}` : `once at ${formatInstant(new Date(a.schedule.at), a.timezone)}`
  const next = nextRun(app, a)
  const status = a.done ? 'sent' : a.paused ? 'paused' : next === undefined ? 'not due again' : `next ${formatInstant(next, a.timezone)}`
  const text = a.text.length > 80 ? `${a.text.slice(0, 79)}…` : a.text
  return `${name} · ${when} · to ${describeRecipients(a.to)} · ${status}\n   ${text.replace(/\n/g, ' ')}`
}
