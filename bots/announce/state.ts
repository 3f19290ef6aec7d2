/**
 * What the announcement bot keeps, in the bot's state (committed with the
 * messages each change sends): channels, subscribers, announcements, feeds,
 * announcements waiting for an admin's confirmation, and the history of changes. Read back through zod: an entry that does not
 * parse (a damaged store, an older format) is dropped with a log line rather
 * than crashing the bot.
 */
import type { KeyValue, Logger } from 'bertybot'
import { z } from 'zod'

/** Who receives something: everyone (all channels and subscribers), or named channels and/or "subscribers". */
export const recipientsSchema = z.union([z.literal('everyone'), z.array(z.string())])
export type Recipients = z.infer<typeof recipientsSchema>

const announcementSchema = z.object({
  /** `3` for one made in the chat, `file:standup` for one from the schedule file. */
  id: z.string(),
  text: z.string(),
  timezone: z.string(),
  to: recipientsSchema,
  schedule: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('cron'), expression: z.string() }),
    z.object({ kind: z.literal('once'), at: z.iso.datetime() })
  ]),
  paused: z.boolean(),
  /** A one-off that was sent (or skipped): kept so that the schedule file does not bring it back. */
  done: z.boolean(),
  /** Changes with each edit and resume: a new schedule name, so that what fell due while paused is not caught up. */
  version: z.number().int(),
  source: z.enum(['chat', 'file']),
  createdBy: z.string(),
  createdAt: z.iso.datetime()
})
export type Announcement = z.infer<typeof announcementSchema>

const channelSchema = z.object({ name: z.string(), addedBy: z.string(), addedAt: z.iso.datetime() })
export type Channel = z.infer<typeof channelSchema> & { group: string }

const feedSchema = z.object({
  id: z.string(),
  url: z.string(),
  everyMs: z.number().int().positive(),
  to: recipientsSchema,
  source: z.enum(['chat', 'file']),
  addedBy: z.string(),
  title: z.string().optional(),
  /** The items present at the first check are not announced: only those that come after. */
  primed: z.boolean(),
  validators: z.object({ etag: z.string().optional(), lastModified: z.string().optional() }),
  /** Set while checks fail; admins are told once per streak. */
  failure: z.object({ since: z.iso.datetime(), message: z.string() }).optional()
})
export type Feed = z.infer<typeof feedSchema>

/** An `/announce now` to every channel, asked and not answered yet (by its number). */
const confirmationSchema = z.object({ text: z.string(), to: recipientsSchema, askedBy: z.string(), askedAt: z.iso.datetime() })
export type Confirmation = z.infer<typeof confirmationSchema>

const historySchema = z.object({ at: z.iso.datetime(), who: z.string(), what: z.string() })
export type HistoryEntry = z.infer<typeof historySchema>

const HISTORY_LENGTH = 500
/** Item ids remembered per feed: more than a feed lists, so that an item that drops off and comes back is not news. */
const SEEN_LENGTH = 1000

/** Typed access to the bot's state, for one handler (or `bot.run()`). */
export class AnnounceState {
  readonly #kv: KeyValue
  readonly #log: Logger

  constructor (kv: KeyValue, log: Logger) {
    this.#kv = kv
    this.#log = log
  }

  async announcements (): Promise<Map<string, Announcement>> {
    return await this.#records('announcements', announcementSchema)
  }

  async saveAnnouncements (all: Map<string, Announcement>): Promise<void> {
    await this.#kv.set('announcements', Object.fromEntries(all))
  }

  async channels (): Promise<Channel[]> {
    const records = await this.#records('channels', channelSchema)
    return [...records].map(([group, channel]) => ({ ...channel, group }))
  }

  async saveChannels (channels: Channel[]): Promise<void> {
    await this.#kv.set('channels', Object.fromEntries(channels.map(({ group, ...channel }) => [group, channel])))
  }

  async subscribers (): Promise<string[]> {
    const parsed = z.array(z.string()).safeParse(await this.#kv.get('subscribers') ?? [])
    if (!parsed.success) this.#log.error('the list of subscribers is damaged; starting it again empty')
    return parsed.success ? parsed.data : []
  }

  async saveSubscribers (accounts: string[]): Promise<void> {
    await this.#kv.set('subscribers', accounts)
  }

  async feeds (): Promise<Map<string, Feed>> {
    return await this.#records('feeds', feedSchema)
  }

  async saveFeeds (all: Map<string, Feed>): Promise<void> {
    await this.#kv.set('feeds', Object.fromEntries(all))
  }

  /** Ids of the items of a feed already seen, most recent first. */
  async seen (feed: string): Promise<string[]> {
    const parsed = z.array(z.string()).safeParse(await this.#kv.get(`feed-seen/${feed}`) ?? [])
    return parsed.success ? parsed.data : []
  }

  async saveSeen (feed: string, ids: string[]): Promise<void> {
    await this.#kv.set(`feed-seen/${feed}`, ids.slice(0, SEEN_LENGTH))
  }

  async forgetSeen (feed: string): Promise<void> {
    await this.#kv.delete(`feed-seen/${feed}`)
  }

  async confirmations (): Promise<Map<string, Confirmation>> {
    return await this.#records('confirmations', confirmationSchema)
  }

  async saveConfirmations (all: Map<string, Confirmation>): Promise<void> {
    await this.#kv.set('confirmations', Object.fromEntries(all))
  }

  /** The next number for something made in the chat (`announcement`, `feed`, `confirmation`). */
  async nextNumber (counter: 'announcement' | 'feed' | 'confirmation'): Promise<number> {
    const parsed = z.number().int().nonnegative().safeParse(await this.#kv.get(`next-${counter}`) ?? 1)
    const next = parsed.success ? parsed.data : 1
    await this.#kv.set(`next-${counter}`, next + 1)
    return next
  }

  async record (who: string, what: string, at: Date): Promise<void> {
    const history = await this.history()
    await this.#kv.set('history', [...history, { at: at.toISOString(), who, what }].slice(-HISTORY_LENGTH))
  }

  async history (): Promise<HistoryEntry[]> {
    const parsed = z.array(historySchema).safeParse(await this.#kv.get('history') ?? [])
    return parsed.success ? parsed.data : []
  }

  async #records<T> (key: string, schema: z.ZodType<T>): Promise<Map<string, T>> {
    const raw = await this.#kv.get(key) ?? {}
    const records = new Map<string, T>()
    if (typeof raw !== 'object' || raw === null) {
      this.#log.error({ key }, 'stored state is damaged; ignoring it')
      return records
    }
    for (const [id, value] of Object.entries(raw)) {
      const parsed = schema.safeParse(value)
      if (parsed.success) records.set(id, parsed.data)
      else this.#log.error({ key, id, issue: parsed.error.issues[0]?.message }, 'dropped a damaged entry of the stored state')
    }
    return records
  }
}
