/**
 * From accepted notifications to messages in the durable outbox, in one
 * commit per request (so a 2xx answer means they are on disk, and nothing
 * partial is ever posted):
 *
 * - a delivery id seen before (GitHub's `X-GitHub-Delivery`) is a redelivery:
 *   answered with the first id, posted once;
 * - within a thread (Alertmanager's group key), the same content again is a
 *   redelivery if it comes within `redeliveryWindowMs`, a repeat after it
 *   (posted as a short line answering the first message); a resolution is a
 *   short line answering the firing message;
 * - each group takes at most `perMinute` messages a minute; the rest waits in
 *   a digest, sent when the minute allows (a timer, armed again at start).
 *
 * A notification is posted in Markdown when its source wrote it so; one of
 * firing alerts has the silence buttons under it, if there is an Alertmanager.
 */
import { createHash, randomUUID } from 'node:crypto'
import type { Logger } from '../protocol/index.ts'
import type { Bot, SendOptions, TaskContext } from '../framework/index.ts'
import { BatchedRunner } from './batches.ts'
import { addToDigest, admit, emptyFloodState, floodStateSchema, nextSlot, takeDigest, type DigestEntry, type FloodState } from './flood.ts'
import { SILENCE_BUTTONS } from './silence-buttons.ts'
import type { AlertInfo, Notification } from './source.ts'
import { z } from 'zod'

/** A route as delivery needs it: where its notifications go. */
export interface DeliveryRoute {
  readonly name: string
  readonly to: readonly string[]
  /** First rule whose matchers all match an alert's labels sends that alert to its groups instead. */
  readonly rules: ReadonlyArray<{ readonly matches: (labels: Readonly<Record<string, string>>) => boolean, readonly to: readonly string[] }>
}

export interface DeliveryOptions {
  perMinute: number
  redeliveryWindowMs: number
  /** Put "Silence 1h" / "Silence 1d" under a message of firing alerts (there is an Alertmanager to silence them in). */
  silenceButtons: boolean
}

export interface Accepted {
  /** The id answered with the 202: the same for a redelivery. */
  readonly id: string
  /** Nothing new: a redelivery of what was accepted as `id`. */
  readonly duplicate: boolean
}

/** What a user's answer to an alert message can silence: that message's alerts. */
export interface AlertMessage {
  readonly tag: string
  readonly route: string
  readonly labels: ReadonlyArray<Readonly<Record<string, string>>>
}

const threadSchema = z.object({ id: z.string(), contentKey: z.string().optional(), at: z.number(), tag: z.string().optional() })
const deliveriesSchema = z.array(z.tuple([z.string(), z.string()]))
const alertMessagesSchema = z.array(z.object({ tag: z.string(), route: z.string(), labels: z.array(z.record(z.string(), z.string())) }))

const KEYS = {
  deliveries: (route: string) => `bridge/deliveries/${route}`,
  thread: (route: string, thread: string, group: string) => `bridge/thread/${route}/${createHash('sha256').update(thread).digest('base64url')}/${group}`,
  flood: (group: string) => `bridge/flood/${group}`,
  digests: 'bridge/digests',
  alertMessages: 'bridge/alert-messages'
}
/** Delivery ids remembered per route. */
const MAX_DELIVERIES = 1000
/** Alert messages a user can answer with `/silence`. */
const MAX_ALERT_MESSAGES = 500
/** Labels sets kept per alert message. */
const MAX_ALERTS_KEPT = 100

async function read<T> (ctx: TaskContext, key: string, schema: z.ZodType<T>, fallback: T): Promise<T> {
  const parsed = schema.safeParse(await ctx.botState.get(key))
  return parsed.success ? parsed.data : fallback
}

export class BridgeDelivery {
  readonly #bot: Bot<unknown>
  readonly #log: Logger
  readonly #options: DeliveryOptions
  readonly #runner: BatchedRunner
  /** group → the timer that sends its digest, and when. */
  readonly #timers = new Map<string, { at: number, abort: AbortController }>()
  #stopped = false

  constructor (bot: Bot<unknown>, log: Logger, options: DeliveryOptions) {
    this.#bot = bot
    this.#log = log
    this.#options = options
    this.#runner = new BatchedRunner(async (fn) => await bot.run(fn))
  }

  /** Arms the digests left waiting by the last run. */
  async start (): Promise<void> {
    const groups = await this.#bot.run(async (ctx) => await read(ctx, KEYS.digests, z.array(z.string()), []))
    for (const group of groups) this.#arm(group, this.#bot.clock.now())
  }

  /** Stops the digest timers (their digests stay in the state) and waits for commits under way. */
  async stop (): Promise<void> {
    this.#stopped = true
    for (const { abort } of this.#timers.values()) abort.abort()
    this.#timers.clear()
    await this.#runner.idle()
  }

  /** Queues the messages of one request; resolves once they are committed. */
  async accept (route: DeliveryRoute, notifications: readonly Notification[], deliveryId?: string): Promise<Accepted> {
    return await this.#runner.submit(async (ctx) => await this.#accept(ctx, route, notifications, deliveryId))
  }

  /** The alert message a bot message id is, if it is one a user can still answer. */
  async alertMessage (tag: string): Promise<AlertMessage | undefined> {
    return await this.#bot.run(async (ctx) => (await read(ctx, KEYS.alertMessages, alertMessagesSchema, [])).find((m) => m.tag === tag))
  }

  async #accept (ctx: TaskContext, route: DeliveryRoute, notifications: readonly Notification[], deliveryId: string | undefined): Promise<Accepted> {
    const deliveries = deliveryId === undefined ? [] : await read(ctx, KEYS.deliveries(route.name), deliveriesSchema, [])
    const earlier = deliveries.find(([delivery]) => delivery === deliveryId)
    if (earlier !== undefined) return { id: earlier[1], duplicate: true }
    const id = randomUUID()
    if (deliveryId !== undefined) await ctx.botState.set(KEYS.deliveries(route.name), [...deliveries, [deliveryId, id]].slice(-MAX_DELIVERIES))
    const poster = new Poster(ctx, this.#bot.clock.now(), id, route.name, this.#options)
    let fresh = false
    let sameAs: string | undefined
    for (const notification of notifications) {
      for (const { groups, notification: part } of destinations(route, notification)) {
        for (const group of groups) {
          if (this.#bot.peer.group(group) === undefined) {
            this.#log.warn({ route: route.name, group }, 'a route names a group the bot is not in: skipped')
            continue
          }
          const outcome = await poster.postOrDigest(group, part)
          if (outcome.duplicateOf === undefined) fresh = true
          else sameAs ??= outcome.duplicateOf
        }
      }
    }
    await poster.finish()
    for (const [group, at] of poster.digestsAt) ctx.afterCommit(() => { this.#arm(group, at) })
    return !fresh && sameAs !== undefined ? { id: sameAs, duplicate: true } : { id, duplicate: false }
  }

  /** Sends `group`'s digest at `at` (or earlier, if a timer for an earlier time is armed). */
  #arm (group: string, at: number): void {
    if (this.#stopped) return
    const armed = this.#timers.get(group)
    if (armed !== undefined && armed.at <= at) return
    armed?.abort.abort()
    const abort = new AbortController()
    this.#timers.set(group, { at, abort })
    this.#bot.clock.sleepUntil(at, abort.signal).then(async () => {
      if (this.#timers.get(group)?.abort === abort) this.#timers.delete(group)
      const next = await this.#runner.submit(async (ctx) => await this.#flush(ctx, group))
      if (next !== undefined) this.#arm(group, next)
    }, () => { /* aborted: stopping, or armed again earlier */ }).catch((err: unknown) => {
      this.#log.error({ err, group }, 'could not send a digest; it is sent at the next start')
    })
  }

  /** Sends the digest if the group has a slot; resolves with when to try again if it still waits. */
  async #flush (ctx: TaskContext, group: string): Promise<number | undefined> {
    const now = this.#bot.clock.now()
    const flood = await read(ctx, KEYS.flood(group), floodStateSchema, emptyFloodState())
    const { state, messages } = takeDigest(flood, now, this.#options.perMinute)
    const waiting = (state.digest?.length ?? 0) > 0
    if (messages.length > 0 && this.#bot.peer.group(group) !== undefined) {
      for (const text of messages) await ctx.send(group, text)
    }
    await ctx.botState.set(KEYS.flood(group), state)
    if (!waiting) {
      const digests = await read(ctx, KEYS.digests, z.array(z.string()), [])
      await ctx.botState.set(KEYS.digests, digests.filter((g) => g !== group))
      return undefined
    }
    return nextSlot(state, now, this.#options.perMinute)
  }
}

/** The groups each part of a notification goes to, by the route's label matchers. */
function destinations (route: DeliveryRoute, notification: Notification): Array<{ groups: readonly string[], notification: Notification }> {
  const only = notification.only
  if (route.rules.length === 0 || notification.alerts.length === 0 || only === undefined) return [{ groups: route.to, notification }]
  const byRule = new Map<number, Set<string>>()
  for (const alert of notification.alerts) {
    const rule = route.rules.findIndex((r) => r.matches(alert.labels))
    byRule.set(rule, (byRule.get(rule) ?? new Set()).add(alert.fingerprint))
  }
  const parts: Array<{ groups: readonly string[], notification: Notification }> = []
  for (const [rule, fingerprints] of byRule) {
    const part = byRule.size === 1 ? notification : only((alert: AlertInfo) => fingerprints.has(alert.fingerprint))
    if (part !== undefined) parts.push({ groups: rule < 0 ? route.to : route.rules[rule]?.to ?? route.to, notification: part })
  }
  return parts
}

/** What one request posts, to each group, within its transaction. */
class Poster {
  readonly #ctx: TaskContext
  readonly #now: number
  readonly #id: string
  readonly #route: string
  readonly #options: DeliveryOptions
  readonly #floods = new Map<string, FloodState>()
  readonly #alertMessages: AlertMessage[] = []
  /** Groups that got a digest entry, with when it can go out. */
  readonly digestsAt = new Map<string, number>()
  #tags = 0

  constructor (ctx: TaskContext, now: number, id: string, route: string, options: DeliveryOptions) {
    this.#ctx = ctx
    this.#now = now
    this.#id = id
    this.#route = route
    this.#options = options
  }

  /** Posts one notification to one group, or adds it to the group's digest when the group had its fill this minute; tells if it was a redelivery, of which request. */
  async postOrDigest (group: string, n: Notification): Promise<{ duplicateOf?: string }> {
    const state = this.#ctx.botState
    const threadKey = n.thread === undefined ? undefined : KEYS.thread(this.#route, n.thread, group)
    const thread = threadKey === undefined ? undefined : await read(this.#ctx, threadKey, threadSchema.optional(), undefined)
    // A repeat and a resolution are one plain line answering the thread's first message.
    let message: Pick<SendOptions, 'format' | 'buttons'> & { text: string } = n.markdown === undefined ? { text: n.text } : { text: n.markdown, format: 'markdown' }
    let replyToTag: string | undefined
    let fresh = true
    if (thread !== undefined && n.contentKey !== undefined && thread.contentKey === n.contentKey) {
      if (this.#now - thread.at < this.#options.redeliveryWindowMs) return { duplicateOf: thread.id }
      message = { text: `(repeat) ${n.headline}` }
      replyToTag = thread.tag
      fresh = false
    } else if (n.resolvedLine !== undefined && thread?.tag !== undefined) {
      message = { text: n.resolvedLine }
      replyToTag = thread.tag
      fresh = false
    }
    if (fresh && this.#options.silenceButtons && n.alerts.some((alert) => alert.status === 'firing')) message.buttons = SILENCE_BUTTONS
    const flood = await this.#flood(group)
    const { state: counted, admitted } = admit(flood, this.#now, this.#options.perMinute)
    let tag: string | undefined
    if (admitted) {
      tag = `bridge:${this.#id}:${this.#tags++}`
      const { text, ...rich } = message
      await this.#ctx.send(group, text, { tag, ...rich, ...(replyToTag === undefined ? {} : { replyToTag }) })
      if (n.alerts.length > 0) this.#alertMessages.push({ tag, route: this.#route, labels: n.alerts.slice(0, MAX_ALERTS_KEPT).map((a) => a.labels) })
      this.#floods.set(group, counted)
    } else {
      const digested = addToDigest(counted, digestEntries(n))
      this.#floods.set(group, digested)
      this.digestsAt.set(group, nextSlot(digested, this.#now, this.#options.perMinute))
    }
    if (threadKey !== undefined) {
      // A repeat or a resolution keeps answering the thread's first message.
      await state.set(threadKey, { id: this.#id, contentKey: n.contentKey, at: this.#now, tag: fresh ? tag ?? thread?.tag : thread?.tag })
    }
    return {}
  }

  /** Writes what the posts changed: each group's flood state, the groups with a digest waiting, the alert messages a user can answer. */
  async finish (): Promise<void> {
    const state = this.#ctx.botState
    for (const [group, flood] of this.#floods) await state.set(KEYS.flood(group), flood)
    if (this.digestsAt.size > 0) {
      const digests = new Set(await read(this.#ctx, KEYS.digests, z.array(z.string()), []))
      for (const group of this.digestsAt.keys()) digests.add(group)
      await state.set(KEYS.digests, [...digests])
    }
    if (this.#alertMessages.length > 0) {
      const kept = await read(this.#ctx, KEYS.alertMessages, alertMessagesSchema, [])
      await state.set(KEYS.alertMessages, [...kept, ...this.#alertMessages].slice(-MAX_ALERT_MESSAGES))
    }
  }

  async #flood (group: string): Promise<FloodState> {
    const known = this.#floods.get(group)
    if (known !== undefined) return known
    return await read(this.#ctx, KEYS.flood(group), floodStateSchema, emptyFloodState())
  }
}

/** How a digest names a notification: each of its alerts, else its headline. */
function digestEntries (n: Notification): DigestEntry[] {
  if (n.alerts.length > 0) return n.alerts.map((a) => ({ key: a.fingerprint, name: a.name, status: a.status }))
  return [{ key: `${n.headline}\u0000${randomUUID()}`, name: n.headline }]
}
