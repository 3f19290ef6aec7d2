/**
 * `/announce ...`: admins add, list, pause, resume and remove announcements,
 * send one now, and read who changed what. Every refusal says what is wrong.
 */
import { nextOccurrence, type CommandContext } from 'bertybot'
import { z } from 'zod'
import { adminOnly, now, stateOf, who, type AnnounceApp } from './app.ts'
import { arm, checkCron, describeAnnouncement, disarmAll } from './announcements.ts'
import { setupAnnounceNow } from './announce-now.ts'
import { describeRecipients, parseRecipients } from './audience.ts'
import type { Announcement, AnnounceState } from './state.ts'
import { formatInstant, parseWhen, WhenError } from './when.ts'

const MAX_TEXT = 4000
const text = z.string().min(1).max(MAX_TEXT, `an announcement is at most ${MAX_TEXT} characters`)
const LOG_LINES = 20

/**
 * `/announce once in 2h Coffee` and `/announce once 2026-12-01 09:00 Coffee`
 * read as users mean them: the words of the time are taken back from the text.
 */
export function splitWhen (when: string, rest: string): { when: string, text: string } {
  const words = rest.split(/\s+/).filter((w) => w !== '')
  const taken: string[] = []
  if (when.toLowerCase() === 'in') {
    // "2h", "1h30m", or "2 hours": a number with its unit, as often as they come.
    while (words.length > 0) {
      const [word = '', next = ''] = words
      if (/^\d+[a-z]+(\d+[a-z]+)*$/i.test(word)) taken.push(words.shift() as string)
      else if (/^\d+$/.test(word) && /^(d|days?|h|hrs?|hours?|m|mins?|minutes?)$/i.test(next)) taken.push(...words.splice(0, 2))
      else break
    }
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(when) && /^\d{1,2}:\d{2}(:\d{2})?([+-]\d{2}(:?\d{2})?|Z)?$/i.test(words[0] ?? '')) {
    taken.push(words.shift() as string)
  }
  return { when: [when, ...taken].join(' '), text: words.join(' ') }
}

/** Finds an announcement by what a user typed: `3`, `#3`, or a schedule file id. */
async function find (state: AnnounceState, input: string): Promise<{ all: Map<string, Announcement>, a: Announcement | undefined }> {
  const all = await state.announcements()
  const id = input.replace(/^#/, '')
  return { all, a: all.get(id) ?? all.get(`file:${id}`) }
}

const notFound = (input: string): string => `There is no announcement ${input.startsWith('#') ? input : `#${input}`}. /announce list shows them.`

export function setupAnnouncementCommands (app: AnnounceApp): void {
  const { bot } = app
  const recipients = z.string().optional()

  /** Saves a new announcement, arms it once committed, and says when it runs. */
  const add = async (ctx: CommandContext<unknown>, state: AnnounceState, a: Omit<Announcement, 'id'>, next: Date | undefined): Promise<void> => {
    const all = await state.announcements()
    const id = String(await state.nextNumber('announcement'))
    const announcement = { ...a, id }
    all.set(id, announcement)
    await state.saveAnnouncements(all)
    const when = a.schedule.kind === 'cron' ? `"${a.schedule.expression}" (${a.timezone})` : 'once'
    await state.record(who(ctx.sender), `added #${id}: ${when} to ${describeRecipients(a.to)}: ${a.text.slice(0, 60)}`, now(app))
    ctx.afterCommit(() => { arm(app, announcement) })
    await ctx.reply(`Announcement #${id} is set: ${when} to ${describeRecipients(a.to)}. ${next === undefined ? '' : `Next: ${formatInstant(next, a.timezone)}.`}`.trim())
  }

  bot.command('announce add', {
    args: z.object({ cron: z.string(), text, tz: z.string().optional(), to: recipients }),
    flags: ['tz', 'to'],
    description: 'announce on a schedule: /announce add "0 9 * * 1-5" Stand-up! [--tz Europe/Paris] [--to channel]'
  }, adminOnly(app, async (ctx) => {
    const timezone = ctx.args.tz ?? bot.config.timezone
    const problem = checkCron(ctx.args.cron, timezone)
    if (problem !== undefined) {
      // `/announce add 0 9 * * * Hi` reads "0" as the expression: the fields need quotes around them.
      const unquoted = ctx.args.cron.trim().split(/\s+/).length < 5
      return await ctx.reply(unquoted ? `${problem} Put the expression in quotes: /announce add "${[ctx.args.cron, ...ctx.args.text.split(/\s+/)].slice(0, 5).join(' ')}" ${ctx.args.text.split(/\s+/).slice(4).join(' ')}`.trimEnd() : problem)
    }
    const state = stateOf(ctx)
    const to = parseRecipients(ctx.args.to, await state.channels())
    if (typeof to === 'object' && 'error' in to) return await ctx.reply(to.error)
    await add(ctx, state, {
      text: ctx.args.text, timezone, to, schedule: { kind: 'cron', expression: ctx.args.cron },
      paused: false, done: false, version: 1, source: 'chat', createdBy: who(ctx.sender), createdAt: now(app).toISOString()
    }, nextOccurrence(ctx.args.cron, timezone, now(app)))
  }))

  bot.command('announce once', {
    args: z.object({ when: z.string(), text: z.string(), tz: z.string().optional(), to: recipients }),
    flags: ['tz', 'to'],
    description: 'announce once: /announce once "in 2h" Coffee! or /announce once 2026-12-01 09:00 Coffee!'
  }, adminOnly(app, async (ctx) => {
    const timezone = ctx.args.tz ?? bot.config.timezone
    const split = splitWhen(ctx.args.when, ctx.args.text)
    const checked = text.safeParse(split.text)
    if (!checked.success) return await ctx.reply(`What should I announce ${split.when}? ${checked.error.issues[0]?.message ?? ''}`.trim())
    let at: Date
    try {
      at = parseWhen(split.when, { now: bot.clock.now(), timezone })
    } catch (err) {
      if (err instanceof WhenError) return await ctx.reply(`${err.message}.`)
      throw err
    }
    const state = stateOf(ctx)
    const to = parseRecipients(ctx.args.to, await state.channels())
    if (typeof to === 'object' && 'error' in to) return await ctx.reply(to.error)
    await add(ctx, state, {
      text: checked.data, timezone, to, schedule: { kind: 'once', at: at.toISOString() },
      paused: false, done: false, version: 1, source: 'chat', createdBy: who(ctx.sender), createdAt: now(app).toISOString()
    }, at)
  }))

  setupAnnounceNow(app, text)

  bot.command('announce list', { description: 'the announcements, with their next run' }, adminOnly(app, async (ctx) => {
    const all = [...(await stateOf(ctx).announcements()).values()].filter((a) => !a.done)
    all.sort((x, y) => (Number(x.id) || Infinity) - (Number(y.id) || Infinity) || x.id.localeCompare(y.id))
    await ctx.reply(all.length === 0 ? 'No announcements. /announce add makes one.' : all.map((a) => describeAnnouncement(app, a)).join('\n'))
  }))

  const change = (name: 'rm' | 'pause' | 'resume', description: string, apply: (a: Announcement) => Announcement | undefined | string): void => {
    bot.command(`announce ${name}`, { args: z.object({ id: z.string() }), description }, adminOnly(app, async (ctx) => {
      const state = stateOf(ctx)
      const { all, a } = await find(state, ctx.args.id)
      if (a === undefined || a.done) return await ctx.reply(notFound(ctx.args.id))
      if (a.source === 'file') return await ctx.reply(`${a.id.replace(/^file:/, '')} comes from the schedule file: change it there, then reload the bot (SIGHUP).`)
      const changed = apply(a)
      if (typeof changed === 'string') return await ctx.reply(changed)
      if (changed === undefined) all.delete(a.id)
      else all.set(a.id, changed)
      await state.saveAnnouncements(all)
      const verb = { rm: 'removed', pause: 'paused', resume: 'resumed' }[name]
      await state.record(who(ctx.sender), `${verb} #${a.id}`, now(app))
      ctx.afterCommit(() => { if (changed === undefined) disarmAll(app, a.id); else arm(app, changed) })
      await ctx.reply(`Announcement #${a.id} is ${verb}.`)
    }))
  }
  change('rm', 'remove an announcement: /announce rm 3', () => undefined)
  change('pause', 'pause an announcement: /announce pause 3', (a) => a.paused ? `#${a.id} is paused already.` : { ...a, paused: true })
  change('resume', 'resume a paused announcement: /announce resume 3', (a) => a.paused ? { ...a, paused: false, version: a.version + 1 } : `#${a.id} is not paused.`)

  bot.command('announce log', { description: 'who changed what, and when' }, adminOnly(app, async (ctx) => {
    const history = (await stateOf(ctx).history()).slice(-LOG_LINES)
    await ctx.reply(history.length === 0
      ? 'Nothing has changed yet.'
      : history.map((h) => `${formatInstant(new Date(h.at), bot.config.timezone)} · ${h.who} · ${h.what}`).join('\n'))
  }))
}
