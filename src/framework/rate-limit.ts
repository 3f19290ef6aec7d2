/**
 * `rateLimit({ perMinute })`: a middleware that lets each person make the
 * bot work at most `perMinute` times a minute. What counts is what a person
 * does in a conversation: messages (commands, dialogue answers and files
 * among them), button presses, reactions, edits and deletions; not the
 * acknowledgements clients send on their own, nor contact requests,
 * invitations and joins. The key is the account, across conversations: the
 * same person in five groups has one budget, not five.
 *
 * A person over the limit gets one polite reply per window, saying when they
 * may write again, in the conversation where they went over; what they do
 * past the limit does not reach the middleware and handlers after this one.
 *
 * Counts are kept in memory (`sender-windows.ts`), on the bot's clock: a
 * restart forgets them. At most `maxSenders` people are remembered at once;
 * ended windows are forgotten as time passes.
 *
 * ```ts
 * bot.use(rateLimit({ perMinute: 20 }))
 * ```
 */
import { z } from 'zod'
import { eventKeyOf } from './context-base.ts'
import type { Middleware } from './composer.ts'
import type { Context } from './context.ts'
import { formatDuration } from './durations.ts'
import { ConfigError } from './errors.ts'
import { SenderWindows } from './sender-windows.ts'

const MINUTE_MS = 60_000

/** The event types a person's budget counts. */
const COUNTED = new Set<Context['type']>(['message', 'buttonPressed', 'reaction', 'messageEdited', 'messageDeleted'])

/** What the reply over the limit may say. */
export interface RateLimitInfo {
  /** The limit: events a minute. */
  readonly perMinute: number
  /** When the person may write again. */
  readonly reopensAt: Date
  /** How long until then, in ms. */
  readonly retryAfterMs: number
}

export interface RateLimitOptions {
  /** How many messages, presses, reactions, edits and deletions a person may send a minute. */
  perMinute: number
  /** The reply over the limit, once per window: a text, a function of when they may write again, or false for none. */
  reply?: string | ((info: RateLimitInfo) => string) | false
  /** How many people's counts are kept at most (10 000): past it the oldest window is forgotten. */
  maxSenders?: number
}

const optionsSchema = z.object({
  perMinute: z.number().int().positive(),
  maxSenders: z.number().int().positive().default(10_000)
})

/** The default reply: how many a minute, and in how long they may write again (rounded up to the second). */
export function defaultRateLimitReply (info: RateLimitInfo): string {
  const wait = formatDuration(Math.ceil(info.retryAfterMs / 1000) * 1000)
  return `You are writing faster than I can follow (${info.perMinute} a minute). Please wait ${wait} before writing again.`
}

/**
 * A per-person rate limit (what counts, and how: the top of this file).
 *
 * ```ts
 * bot.use(rateLimit({ perMinute: 20, reply: ({ retryAfterMs }) => `Easy! Back in ${Math.ceil(retryAfterMs / 1000)} s.` }))
 * ```
 */
export function rateLimit (options: RateLimitOptions): Middleware<Context> {
  const parsed = optionsSchema.safeParse(options)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new ConfigError(`rateLimit.${issue?.path.join('.') ?? ''}`, issue?.message ?? 'invalid options')
  }
  const { perMinute, maxSenders } = parsed.data
  const windows = new SenderWindows({ limit: perMinute, windowMs: MINUTE_MS, maxSenders })
  const reply = options.reply ?? defaultRateLimitReply
  return async (ctx, next) => {
    if (!COUNTED.has(ctx.type) || !('sender' in ctx)) return await next()
    const now = ctx.clock.now()
    const event = eventKeyOf(ctx) ?? `${ctx.type}/${ctx.group.id}/${now}`
    const decision = windows.decide(ctx.sender.account, event, now)
    if (decision.admitted) return await next()
    const info = { perMinute, reopensAt: new Date(decision.reopensAt), retryAfterMs: Math.max(0, decision.reopensAt - now) }
    ctx.log.debug({ sender: ctx.sender.account, until: info.reopensAt.toISOString() }, 'over the rate limit: not handled')
    if (!decision.notify || reply === false) return
    ctx.log.info({ sender: ctx.sender.account, until: info.reopensAt.toISOString() }, 'a sender went over the rate limit: told to wait')
    const text = typeof reply === 'function' ? reply(info) : reply
    await ctx.reply(text, ctx.type === 'message' ? { replyTo: ctx.message.id } : {})
  }
}
