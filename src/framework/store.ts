/**
 * The bot's own store, a LevelDB under `<dataDir>/bot` (0700): conversation
 * state, the durable outbox, the journal of handled events, when each
 * schedule last ran, and the buttons the bot's messages offer
 * (`offered-buttons.ts`).
 *
 * A handler's effects (state writes, messages to send) are collected in a
 * `Transaction` (`transaction.ts`) and committed in one atomic batch together
 * with the record that the event was handled. A crash before the commit leaves no trace (the
 * peer delivers the event again); a crash after it is recognised from the
 * journal (the event is not handled twice).
 *
 * Handlers of different conversations run concurrently, and may read and
 * write the same bot-wide keys: a transaction remembers which version of each
 * key it read, and its commit fails with `StateConflictError` if one of them
 * was written since (optimistic concurrency); the bot then runs the handlers
 * again on fresh state, so no update is lost.
 */
import { join } from 'node:path'
import type { ClassicLevel } from 'classic-level'
import { DataDirectoryError, GroupCommit, openPrivateLevel, systemClock, type Clock, type SealedMessage } from '../protocol/index.ts'
import { StateConflictError } from './errors.ts'
import { OfferedButtons } from './offered-buttons.ts'
import {
  json, outboxItemSchema, parseJson, scheduleRunSchema, sentTagSchema, seqKey, type OutboxItem, type StoreOp, type Sublevel
} from './store-records.ts'
import { Transaction } from './transaction.ts'

type Bytes = Uint8Array

/** 2: outbox items carry a message of any kind (`message`), where 1 wrote a text beside the rest. */
const STORE_FORMAT = 2
const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** How long a sent message's tag is remembered (an answer to an older message is not recognised). */
export const TAG_RETENTION_MS = 30 * 24 * 3_600_000

export class BotStore {
  readonly #db: ClassicLevel<string, Bytes>
  readonly #clock: Clock
  readonly #journal: Sublevel
  /** The journal's keys, kept in memory: it holds only events handled and not yet settled by the peer, and is read for every event. */
  readonly #journaled = new Set<string>()
  /** Outbox items sent whose removal waits for the next batch (`markSentMany`): not pending any more. */
  readonly #leaving = new Set<number>()
  readonly #state: Sublevel
  readonly #outbox: Sublevel
  readonly #schedules: Sublevel
  readonly #replicated: Sublevel
  /** tag → id of the message sent with it, and back. */
  readonly #sentTags: Sublevel
  readonly #tagsOfSent: Sublevel
  /** The buttons the bot's sent messages offer; opened with the store. */
  #offered!: OfferedButtons
  #nextSeq = 0
  /** State key → how many commits wrote it since the store was opened. */
  readonly #versions = new Map<string, number>()
  /** The keys of the scopes `stateKeys` was asked for, read once and then kept current by every commit. */
  readonly #scopeKeys = new Map<string, Promise<Set<string>>>()
  /** Commits run one at a time, so that checking what a transaction read and writing are one step. */
  #commits: Promise<unknown> = Promise.resolve()
  /** Every write goes through one group commit: a busy bot writes the work of many events at once. */
  readonly #writes: GroupCommit<StoreOp>

  private constructor (db: ClassicLevel<string, Bytes>, clock: Clock) {
    this.#db = db
    this.#clock = clock
    this.#writes = new GroupCommit(async (ops) => { await db.batch(ops) })
    const sub = (name: string): Sublevel => db.sublevel<string, Bytes>(name, { valueEncoding: 'view' })
    this.#journal = sub('journal')
    this.#state = sub('state')
    this.#outbox = sub('outbox')
    this.#schedules = sub('schedules')
    this.#replicated = sub('replicated')
    this.#sentTags = sub('sent-tags')
    this.#tagsOfSent = sub('tags-of-sent')
  }

  /** `clock` dates the tags of sent messages (kept for TAG_RETENTION_MS). */
  static async open (dataDir: string, clock: Clock = systemClock): Promise<BotStore> {
    const store = new BotStore(await openPrivateLevel(join(dataDir, 'bot'), { what: 'the bot store', format: STORE_FORMAT }), clock)
    for await (const key of store.#outbox.keys({ reverse: true, limit: 1 })) store.#nextSeq = Number(key) + 1
    for await (const key of store.#journal.keys()) store.#journaled.add(key)
    await store.forgetTagsBefore(clock.now() - TAG_RETENTION_MS)
    const sub = (name: string): Sublevel => store.#db.sublevel<string, Bytes>(name, { valueEncoding: 'view' })
    store.#offered = await OfferedButtons.open({
      byMessage: sub('offered-buttons'), byTime: sub('offered-buttons-by-time'), now: () => clock.now(), write: async (ops) => { await store.#writes.batch(ops) }
    }, TAG_RETENTION_MS)
    return store
  }

  async close (): Promise<void> {
    await this.#writes.idle()
    await this.#db.close()
  }

  transaction (): Transaction {
    return new Transaction(this)
  }

  // Journal

  async isHandled (eventKey: string): Promise<boolean> {
    return this.#journaled.has(eventKey)
  }

  /**
   * Forgets a handled event once the peer itself will not deliver it again.
   * Written with the next batch: should a crash lose it, the journal keeps
   * a key the peer never delivers again (a few bytes), and nothing else.
   */
  forgetHandled (eventKey: string): void {
    this.#journaled.delete(eventKey)
    this.#writes.later([{ type: 'del', sublevel: this.#journal, key: eventKey }]).catch(() => {})
  }

  // State

  async getState (scope: string, key: string): Promise<unknown> {
    const value = await this.#state.get(`${scope}/${key}`)
    return value === undefined ? undefined : parseJson(value)
  }

  /**
   * The keys `scope` holds, from memory after the first call: for a scope that
   * is asked about at every event (the blocked accounts) and stays small.
   */
  async stateKeys (scope: string): Promise<ReadonlySet<string>> {
    let keys = this.#scopeKeys.get(scope)
    if (keys === undefined) {
      // Read between commits, so that none lands between the read and the mirror taking it in.
      keys = this.#commits.then(async () => new Set((await this.stateOf(scope)).map(([key]) => key)))
      this.#scopeKeys.set(scope, keys)
      this.#commits = keys.catch(() => {})
    }
    return await keys
  }

  /**
   * The state of `scope`, key by key (a key without its scope), for a part
   * that keeps a record per key (dialogues); a value that is not JSON comes
   * as undefined, for the caller's schema to refuse.
   */
  async stateOf (scope: string): Promise<Array<[string, unknown]>> {
    const entries: Array<[string, unknown]> = []
    const prefix = `${scope}/`
    // '0' follows '/': the range holds exactly the keys that start with the prefix.
    for await (const [key, value] of this.#state.iterator({ gte: prefix, lt: `${scope}0` })) {
      let parsed: unknown
      try {
        parsed = parseJson(value)
      } catch {}
      entries.push([key.slice(prefix.length), parsed])
    }
    return entries
  }

  /** @internal The version of a state key, taken before reading it. */
  stateVersion (key: string): number {
    return this.#versions.get(key) ?? 0
  }

  /**
   * @internal Writes `ops` at once, unless a state key in `reads` was written
   * since its version was taken (`StateConflictError`); `handled` are the
   * events `ops` puts in the journal.
   */
  async commitBatch (ops: StoreOp[], reads: ReadonlyMap<string, number>, writes: Iterable<string>, handled: readonly string[]): Promise<void> {
    const commit = this.#commits.then(async () => {
      for (const [key, version] of reads) {
        if (this.stateVersion(key) !== version) throw new StateConflictError(key)
      }
      await this.#writes.batch(ops)
      await this.#mirrorScopeKeys(ops)
      for (const key of writes) this.#versions.set(key, this.stateVersion(key) + 1)
      for (const key of handled) this.#journaled.add(key)
    })
    this.#commits = commit.catch(() => {})
    await commit
  }

  // Outbox

  /** The messages not yet sent, oldest first. */
  async pending (): Promise<OutboxItem[]> {
    const items: OutboxItem[] = []
    for await (const [key, value] of this.#outbox.iterator()) {
      if (this.#leaving.has(Number(key))) continue
      const parsed = outboxItemSchema.safeParse(parseJson(value))
      if (!parsed.success) throw new DataDirectoryError(`outbox item ${key} is damaged`)
      const { sealed, ...rest } = parsed.data
      items.push({ seq: Number(key), ...rest, ...(sealed === undefined ? {} : { sealed: new Uint8Array(Buffer.from(sealed, 'base64')) }) })
    }
    return items
  }

  async outboxSize (): Promise<number> {
    let n = 0
    for await (const key of this.#outbox.keys()) if (!this.#leaving.has(Number(key))) n++
    return n
  }

  async setSealed (item: OutboxItem, sealed: SealedMessage): Promise<OutboxItem> {
    const next = { ...item, sealed: sealed.bytes }
    const { seq: _seq, sealed: _sealed, ...rest } = item
    await this.#writes.batch([{ type: 'put', sublevel: this.#outbox, key: seqKey(item.seq), value: json({ ...rest, sealed: Buffer.from(sealed.bytes).toString('base64') }) }])
    return next
  }

  /** `setSealed` for several items, in one write. */
  async setSealedMany (items: OutboxItem[], sealed: SealedMessage[]): Promise<OutboxItem[]> {
    const next = items.map((item, i) => ({ ...item, sealed: (sealed[i] as SealedMessage).bytes }))
    await this.#writes.batch(next.map(({ seq, sealed: bytes, ...rest }) => ({
      type: 'put' as const, sublevel: this.#outbox, key: seqKey(seq), value: json({ ...rest, sealed: Buffer.from(bytes).toString('base64') })
    })))
    return next
  }

  /** `markSent` for several items that left, with their ids, in one write; `written` is called once it is on disk. */
  async markSentMany (items: OutboxItem[], messageIds: string[], written?: () => void): Promise<void> {
    const ops: StoreOp[] = []
    // An edit reads the record of the message it changes: one sent before, in an earlier batch (its id was needed).
    for (const [i, item] of items.entries()) ops.push(...await this.#sentOps(item, messageIds[i] as string))
    if (ops.every((op) => op.type === 'del' && op.sublevel === this.#outbox)) {
      // Only out of the outbox (no tag, no buttons to look up later): with the next batch. Should a crash lose
      // it, the next start sends the sealed bytes again, and the group finds them in its log already.
      for (const item of items) this.#leaving.add(item.seq)
      const left = (): void => { for (const item of items) this.#leaving.delete(item.seq) }
      // Failed, they are pending again: sent again, they are found in the log, and taken out then.
      this.#writes.later(ops).then(() => { left(); written?.() }, left)
      return
    }
    await this.#writes.batch(ops)
    written?.()
    await this.#offered.prune()
  }

  /** The message left, with id `messageId`: out of the outbox, its tag (if it has one) recorded, and the buttons it offers or changes. */
  async markSent (item: OutboxItem, messageId: string, written?: () => void): Promise<void> {
    await this.markSentMany([item], [messageId], written)
  }

  /** The payloads of the buttons the bot's message `messageId` offers, and its group, if it offers any (and is not forgotten: `MAX_OFFERED`). */
  async offeredButtons (messageId: string): Promise<{ group: string, payloads: readonly string[] } | undefined> {
    return await this.#offered.offered(messageId)
  }

  /** The message will never leave (its group is gone, or refuses it): out of the outbox, no tag recorded. */
  async markDropped (item: OutboxItem): Promise<void> {
    await this.#writes.batch([{ type: 'del', sublevel: this.#outbox, key: seqKey(item.seq) }])
  }

  /** The id of the message sent with `tag`, once it left (and for `TAG_RETENTION_MS` after). */
  async messageIdOf (tag: string): Promise<string | undefined> {
    const value = await this.#sentTags.get(tag)
    if (value === undefined) return undefined
    const parsed = sentTagSchema.safeParse(parseJson(value))
    return parsed.success ? parsed.data.id : undefined
  }

  /** Forgets the tags of messages sent before `before` (ms): a bot that tags every message would keep them all. */
  async forgetTagsBefore (before: number): Promise<number> {
    const ops: StoreOp[] = []
    for await (const [tag, value] of this.#sentTags.iterator()) {
      const parsed = sentTagSchema.safeParse(parseJson(value))
      if (parsed.success && parsed.data.at >= before) continue
      ops.push({ type: 'del', sublevel: this.#sentTags, key: tag })
      if (parsed.success) ops.push({ type: 'del', sublevel: this.#tagsOfSent, key: parsed.data.id })
    }
    await this.#writes.batch(ops)
    return ops.length
  }

  /** The tag a message the bot sent had, if any. */
  async tagOf (messageId: string): Promise<string | undefined> {
    const value = await this.#tagsOfSent.get(messageId)
    return value === undefined ? undefined : decoder.decode(value)
  }

  // Schedules

  async lastRun (schedule: string): Promise<number | undefined> {
    const value = await this.#schedules.get(schedule)
    if (value === undefined) return undefined
    const parsed = scheduleRunSchema.safeParse(parseJson(value))
    return parsed.success ? parsed.data.lastRun : undefined
  }

  /** Records a run as done without running it (a missed run that was skipped). */
  async setLastRun (schedule: string, lastRun: number): Promise<void> {
    await this.#writes.batch([{ type: 'put', sublevel: this.#schedules, key: schedule, value: json({ lastRun }) }])
  }

  // Groups registered with the configured replicas

  async isReplicated (groupId: string, replica: string): Promise<boolean> {
    return (await this.#replicated.get(`${groupId}/${replica}`)) !== undefined
  }

  async setReplicated (groupId: string, replica: string): Promise<void> {
    await this.#writes.batch([{ type: 'put', sublevel: this.#replicated, key: `${groupId}/${replica}`, value: new Uint8Array() }])
  }

  /** Takes the state keys `ops` put or deleted into the scopes kept in memory (`stateKeys`). */
  async #mirrorScopeKeys (ops: readonly StoreOp[]): Promise<void> {
    for (const [scope, loading] of this.#scopeKeys) {
      const prefix = `${scope}/`
      const keys = await loading
      for (const op of ops) {
        if (op.sublevel !== this.#state || !op.key.startsWith(prefix)) continue
        if (op.type === 'put') keys.add(op.key.slice(prefix.length))
        else keys.delete(op.key.slice(prefix.length))
      }
    }
  }

  async #sentOps (item: OutboxItem, messageId: string): Promise<StoreOp[]> {
    const ops: StoreOp[] = [{ type: 'del', sublevel: this.#outbox, key: seqKey(item.seq) }, ...await this.#offered.opsFor(item.group, item.message, messageId)]
    if (item.tag === undefined) return ops
    return [
      ...ops,
      { type: 'put', sublevel: this.#sentTags, key: item.tag, value: json({ id: messageId, at: this.#clock.now() }) },
      { type: 'put', sublevel: this.#tagsOfSent, key: messageId, value: encoder.encode(item.tag) }
    ]
  }

  /** @internal Used by `Transaction`. */
  ops (): { journal: Sublevel, state: Sublevel, outbox: Sublevel, schedules: Sublevel, nextSeq: () => number } {
    return {
      journal: this.#journal,
      state: this.#state,
      outbox: this.#outbox,
      schedules: this.#schedules,
      nextSeq: () => this.#nextSeq++
    }
  }
}
