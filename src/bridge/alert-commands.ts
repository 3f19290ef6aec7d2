/**
 * Talking back to Alertmanager from the chat: `/alerts`, `/silence`,
 * `/silences`, `/unsilence`; and `/silence 1h` sent as an answer to an alert
 * message silences that message's alerts, as does a press of the "Silence
 * 1h" or "Silence 1d" button under it. Only the members of a route's groups
 * (in that group) and the admins may use them: alerts tell about systems,
 * and a silence hides them from everyone.
 */
import { z } from 'zod'
import { parseDuration, tokenize, type ButtonContext, type CommandContext } from '../framework/index.ts'
import type { AlertmanagerClient } from './alertmanager-api.ts'
import type { BridgeDeps } from './bridge-deps.ts'
import { formatMatchers, MAX_SILENCE_DURATION_MS, parseMatcher, type Matcher } from './matchers.ts'
import { SILENCE_PRESS } from './silence-buttons.ts'

const REFUSAL = 'Only the members of a group the bridge posts alerts to (in that group) and the admins of this bot may do that.'
const NOT_CONFIGURED = 'No Alertmanager is configured for this bot (BRIDGE_ALERTMANAGER_URL).'
const LIST_LIMIT = 30
const utc = (at: Date): string => `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`

/** Where a silence is asked for: a command, or a press of a button under an alert message. */
type AskingContext = CommandContext<unknown> | ButtonContext

export function setupAlertCommands (app: BridgeDeps): void {
  const { bot } = app
  const words = z.object({ words: z.string().optional() })

  /** The client, if the sender may use it here; otherwise replies why not. */
  const allowed = async (ctx: AskingContext): Promise<AlertmanagerClient | undefined> => {
    const inRouteGroup = ctx.group.kind === 'multi-member' && app.routes.list().some((r) => r.to.includes(ctx.group.id) || r.matchers.some((m) => m.to.includes(ctx.group.id)))
    if (!inRouteGroup && !app.options.isAdmin(ctx.sender.account)) {
      await ctx.reply(REFUSAL)
      return undefined
    }
    if (app.alertmanager === undefined) await ctx.reply(NOT_CONFIGURED)
    return app.alertmanager
  }

  /** Runs an Alertmanager call; its failure is told to the user in words, not thrown. */
  const call = async (ctx: AskingContext, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn()
    } catch (err) {
      ctx.log.warn({ err }, 'an Alertmanager call failed')
      await ctx.reply(`Alertmanager: ${(err as Error).message}`)
    }
  }

  bot.command('alerts', { description: 'list the alerts firing now (Alertmanager)' }, async (ctx) => {
    const client = await allowed(ctx)
    if (client === undefined) return
    await call(ctx, async () => {
      const alerts = await client.alerts({ active: true, silenced: false, inhibited: false })
      if (alerts.length === 0) return await ctx.reply('Nothing is firing.')
      const lines = alerts.slice(0, LIST_LIMIT).map((a) => {
        const { alertname = 'alert', severity, ...rest } = a.labels
        const summary = a.annotations.summary ?? a.annotations.description
        const others = Object.entries(rest).map(([k, v]) => `${k}="${v}"`).join(', ')
        return `- ${alertname}${others === '' ? '' : `{${others}}`}${severity === undefined ? '' : ` [${severity}]`} since ${utc(a.startsAt)}${summary === undefined ? '' : `: ${summary}`}`
      })
      const more = alerts.length > LIST_LIMIT ? [`… and ${alerts.length - LIST_LIMIT} more`] : []
      await ctx.reply([`Firing now (${alerts.length}):`, ...lines, ...more].join('\n'))
    })
  })

  bot.command('silence', {
    args: words,
    description: 'silence alerts: /silence <matcher…> <duration> [comment], or answer an alert message with /silence 1h'
  }, async (ctx) => {
    const client = await allowed(ctx)
    if (client === undefined) return
    const parsed = await silenceRequest(app, ctx)
    if ('error' in parsed) return await ctx.reply(parsed.error)
    await silence(ctx, client, parsed, ctx.message.id)
  })

  /** Makes the silence, authored by the member, and answers `answering` with it. */
  const silence = async (ctx: AskingContext, client: AlertmanagerClient, request: { matchers: Matcher[], durationMs: number, comment: string }, answering: string): Promise<void> => {
    const author = ctx.sender.displayName ?? ctx.sender.account.slice(0, 8)
    await call(ctx, async () => {
      const startsAt = new Date(bot.clock.now())
      const endsAt = new Date(startsAt.getTime() + request.durationMs)
      const id = await client.createSilence({ matchers: request.matchers, startsAt, endsAt, createdBy: author, comment: request.comment })
      await ctx.reply(`Silenced ${formatMatchers(request.matchers)} until ${utc(endsAt)} (silence ${id}). /unsilence ${id} ends it.`, { replyTo: answering })
    })
  }

  // "Silence 1h" under an alert message is `/silence 1h` answering it.
  bot.onButton(SILENCE_PRESS, async (ctx) => {
    const client = await allowed(ctx)
    if (client === undefined) return
    const durationMs = parseDuration((ctx.match as RegExpMatchArray)[1] ?? '', { max: MAX_SILENCE_DURATION_MS })
    const parsed = await alertSilence(app, await ctx.tagOf(ctx.target), durationMs, defaultComment(ctx))
    if ('error' in parsed) return await ctx.reply(parsed.error, { replyTo: ctx.target })
    await silence(ctx, client, parsed, ctx.target)
  })

  bot.command('silences', { description: 'list the silences in force (Alertmanager)' }, async (ctx) => {
    const client = await allowed(ctx)
    if (client === undefined) return
    await call(ctx, async () => {
      const silences = (await client.silences()).filter((s) => s.status.state !== 'expired')
      if (silences.length === 0) return await ctx.reply('No silences in force.')
      const lines = silences.slice(0, LIST_LIMIT).map((s) =>
        `- ${s.id} ${s.status.state === 'pending' ? 'from' : 'until'} ${utc(s.status.state === 'pending' ? s.startsAt : s.endsAt)}, by ${s.createdBy}: ${formatMatchers(s.matchers)}${s.comment === '' ? '' : ` (${s.comment})`}`)
      await ctx.reply([`Silences (${silences.length}):`, ...lines].join('\n'))
    })
  })

  bot.command('unsilence', {
    args: z.object({ id: z.string().regex(/^[0-9a-f-]{8,64}$/i, 'a silence id, as /silences shows it') }),
    description: 'end a silence: /unsilence <id>'
  }, async (ctx) => {
    const client = await allowed(ctx)
    if (client === undefined) return
    await call(ctx, async () => {
      await client.expireSilence(ctx.args.id)
      await ctx.reply(`Silence ${ctx.args.id} is over: its alerts notify again.`)
    })
  })
}

type SilenceRequest = { matchers: Matcher[], durationMs: number, comment: string } | { error: string }

/**
 * `<matcher…> <duration> [comment]`; with no matcher, as an answer to an
 * alert message, the labels of that message's alert (those its alerts share).
 */
function isDuration (word: string): boolean {
  try {
    parseDuration(word, { max: MAX_SILENCE_DURATION_MS })
    return true
  } catch {
    return false
  }
}

async function silenceRequest (app: BridgeDeps, ctx: CommandContext<unknown>): Promise<SilenceRequest> {
  const usage = 'Say /silence alertname="HighLatency" 2h [comment], or answer an alert message with /silence 1h.'
  // Quotes kept: `alertname="High latency"` is one word, read again as a matcher.
  const all = tokenize(ctx.rawArgs, { keepQuotes: true })
  if (all === undefined) return { error: `A quote is not closed. ${usage}` }
  const matchers: Matcher[] = []
  let i = 0
  for (; i < all.length && /^[a-zA-Z_][a-zA-Z0-9_]*\s*(=~|!~|!=|=)/.test(all[i] ?? ''); i++) {
    try {
      matchers.push(parseMatcher(all[i] as string))
    } catch (err) {
      return { error: `${(err as Error).message}. ${usage}` }
    }
  }
  const duration = all[i]
  if (duration === undefined) return { error: `How long? ${usage}` }
  let durationMs: number
  try {
    durationMs = parseDuration(duration, { max: MAX_SILENCE_DURATION_MS })
  } catch (err) {
    // `/silence foo 2h`: the duration is there, one word on; what comes first is a matcher gone wrong.
    const next = all[i + 1]
    if (next !== undefined && isDuration(next)) return { error: `"${duration}" is not a matcher: a label, an operator (=, !=, =~, !~) and a value, like alertname="HighLatency". ${usage}` }
    return { error: `${(err as Error).message}. ${usage}` }
  }
  const comment = all.slice(i + 1).join(' ').replace(/^"(.*)"$/, '$1') || defaultComment(ctx)
  if (matchers.length > 0) return { matchers, durationMs, comment }
  if (ctx.message.replyTo === undefined) return { error: `Which alerts? ${usage}` }
  return await alertSilence(app, await ctx.tagOf(ctx.message.replyTo), durationMs, comment)
}

function defaultComment (ctx: AskingContext): string {
  return `from ${ctx.group.name} by way of the bridge`
}

/** A silence of the alerts of the alert message tagged `tag` (those its alerts share). */
async function alertSilence (app: BridgeDeps, tag: string | undefined, durationMs: number, comment: string): Promise<SilenceRequest> {
  const alertMessage = tag === undefined ? undefined : await app.delivery.alertMessage(tag)
  if (alertMessage === undefined) return { error: 'That message is not an alert I can silence (or it is too old): name the alerts, like /silence alertname="HighLatency" 2h.' }
  const shared = alertMessage.labels.reduce<Record<string, string>>((common, labels) =>
    Object.fromEntries(Object.entries(common).filter(([k, v]) => labels[k] === v)), { ...alertMessage.labels[0] })
  if (Object.keys(shared).length === 0) return { error: 'The alerts of that message share no label: name the alerts to silence.' }
  return { matchers: Object.entries(shared).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true })), durationMs, comment }
}
