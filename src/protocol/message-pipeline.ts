/**
 * Turns a group's message log into events, each once, in causal order
 * (what one entry holds, `message-opener.ts` says; this walks the log and
 * records what became of each entry).
 *
 * Entries are taken oldest first. An entry whose sender's chain key has not
 * reached us yet (the metadata log syncs on its own) is deferred, and so is
 * every entry after it, so that causal order holds; after `DEFER_GRACE_MS` it
 * stops holding the rest back and waits on its own, to be delivered if the
 * key ever comes. Every entry ends with a status in the state database, so it
 * is looked at once; a delivered one is settled when the consumer marks it
 * handled, and until then a restart delivers it again.
 *
 * An entry can be settled before entries behind it are: our own messages, or
 * a dropped one, come after messages the consumer has not finished with. So
 * the walk from the heads stops not at settled entries but at closed ones,
 * those whose every ancestor is settled too; closure is recorded after each
 * scan, oldest first.
 */
import type { DeliveringEmitter } from './events.ts'
import { BoundedSet } from './log-entry.ts'
import { byCausalOrder, unsettledEntries, type HashedEntry, type WalkableLog } from './log-order.ts'
import type { Logger } from './logger.ts'
import { MessageOpener, type MessageOpenerDeps, type MessageOutcome } from './message-opener.ts'
import { once } from './once.ts'
import type { StateOp, StateStore } from './state-store.ts'

/** How often at most a scan walks back to the closed entries rather than to the quiet ones (see `#quiet`). */
const FULL_WALK_EVERY_MS = 1_000
/** How long a message whose sender's chain key is missing holds back the messages after it. */
export const DEFER_GRACE_MS = 60_000

export interface MessagePipelineDeps extends Omit<MessageOpenerDeps, 'chainInHeaders'> {
  state: StateStore
  log: WalkableLog
  events: DeliveringEmitter
  logger: Logger
  /** Asks for a scan later (when a deferred entry's grace runs out). */
  rescan: () => void
  /** The peer's clock. */
  now: () => number
}

/** Writes collected during a scan, made in one batch at its end. */
interface PendingWrites {
  ops: StateOp[]
  /** Entries whose status is among `ops`. */
  settled: Set<string>
}

export class MessagePipeline {
  readonly #deps: MessagePipelineDeps
  readonly #groupId: string
  readonly #opener: MessageOpener
  /** Entries settled (with a persisted status): a cache in front of the store. */
  readonly #settled = new BoundedSet<string>(50_000)
  /** Entries closed (they and all behind them settled): a cache in front of the store. */
  readonly #closedEntries = new BoundedSet<string>(50_000)
  /** Entries joined this session and not closed yet: they have no status on disk, so none is read. */
  readonly #fresh = new BoundedSet<string>(50_000)
  /** Entries delivered this session and not yet marked handled: not delivered again until a restart. */
  readonly #awaitingHandled = new Set<string>()
  /** Devices whose chain came in a message's headers during this scan: messages of theirs that waited may open now. */
  readonly #newChains = new Set<string>()
  /**
   * Entries that need nothing more from a scan this session: settled, or
   * delivered and awaiting their handler, with all behind them closed or quiet.
   * Only closed entries stop a walk for good (a restart redelivers what was
   * not handled); quiet ones stop the walks in between full ones, so a bot
   * whose handlers lag behind a burst does not walk the whole backlog for
   * every message that arrives.
   */
  readonly #quiet = new BoundedSet<string>(50_000)
  /** When the last walk that stopped at closed entries only began (it closes what became closed). */
  #lastFullWalk = 0
  readonly #deferredSince = new Map<string, number>()
  #deferTimer: NodeJS.Timeout | undefined
  #closed = false

  constructor (deps: MessagePipelineDeps) {
    this.#deps = deps
    this.#groupId = deps.stateId
    this.#opener = new MessageOpener({ ...deps, chainInHeaders: (device) => { this.#newChains.add(device) } })
  }

  /** Who wrote message `hash` of this log, if it is one whose author is known. */
  async authorOf (hash: string): Promise<string | undefined> {
    return await this.#opener.authorOf(hash)
  }

  /** True while some entry is held back for a missing chain key. */
  get hasDeferred (): boolean {
    return this.#deferredSince.size > 0
  }

  close (): void {
    this.#closed = true
    clearTimeout(this.#deferTimer)
  }

  /** Told of entries just joined to (or appended to) the log. */
  noteJoined (hashes: string[]): void {
    for (const hash of hashes) this.#fresh.add(hash)
  }

  /** Takes every unsettled entry of the log, oldest first. */
  async scan (): Promise<void> {
    const { state, logger } = this.#deps
    const full = this.#deps.now() - this.#lastFullWalk >= FULL_WALK_EVERY_MS
    if (full) this.#lastFullWalk = this.#deps.now()
    const entries = await unsettledEntries(this.#deps.log, async (hash) => (!full && this.#quiet.has(hash)) || await this.#isClosed(hash))
    logger.trace({ entries: entries.length }, 'scanning messages')
    const now = this.#deps.now()
    const deferred = new Set<string>()
    // Statuses that need nothing else written go out with the closures, in one batch at the end.
    const batch: PendingWrites = { ops: [], settled: new Set() }
    for (const entry of entries) {
      // Settled before (or delivered and not handled yet): open only in that it has open ancestors.
      if (await this.#isSettled(entry.hash)) continue
      if (entry.next.some((hash) => deferred.has(hash))) {
        deferred.add(entry.hash)
        if (!this.#deferredSince.has(entry.hash)) {
          this.#deferredSince.set(entry.hash, now)
          logger.debug({ entry: entry.hash }, 'message held back behind an earlier one that waits for a chain key')
        }
        continue
      }
      const outcome = await this.#opener.open(entry)
      if (outcome.kind === 'defer') {
        const since = this.#deferredSince.get(entry.hash) ?? now
        if (now - since < DEFER_GRACE_MS) {
          if (!this.#deferredSince.has(entry.hash)) logger.debug({ entry: entry.hash, device: outcome.device, why: outcome.why }, 'message deferred until its sender\'s chain key arrives')
          this.#deferredSince.set(entry.hash, since)
          deferred.add(entry.hash)
          continue
        }
        // Grace is over: stop holding later messages back for this one; it waits on its own.
        logger.info({ entry: entry.hash, device: outcome.device, why: outcome.why }, 'message waits for its sender\'s chain key')
        await state.batch([
          state.statuses.setStatusOp(this.#groupId, 'messages', entry.hash, 'waiting', outcome.author),
          state.statuses.addWaitingOp(this.#groupId, outcome.device, entry.hash)
        ])
        this.#deferredSince.delete(entry.hash)
        this.#settled.add(entry.hash)
        continue
      }
      this.#deferredSince.delete(entry.hash)
      await this.#settle(entry, outcome, [], batch)
    }
    await this.#close(entries, batch)
    for (const entry of entries) {
      const done = this.#settled.has(entry.hash) || this.#awaitingHandled.has(entry.hash)
      if (done && entry.next.every((parent) => this.#quiet.has(parent) || this.#closedEntries.has(parent))) this.#quiet.add(entry.hash)
    }
    for (const device of this.#newChains) {
      this.#newChains.delete(device)
      await this.retryWaiting(device)
    }
    this.#armDeferTimer()
  }

  /** Writes `pending`, and records as closed, oldest first, the settled entries whose ancestors are all closed. */
  async #close (entries: HashedEntry[], pending: PendingWrites): Promise<void> {
    const { state } = this.#deps
    const closedNow = new Set<string>()
    const ops = [...pending.ops]
    for (const entry of entries) {
      const settled = pending.settled.has(entry.hash) || this.#settled.has(entry.hash) ||
        (!this.#fresh.has(entry.hash) && await state.statuses.entryStatus(this.#groupId, 'messages', entry.hash) !== undefined)
      if (!settled) continue
      let ancestorsClosed = true
      for (const parent of entry.next) {
        if (!closedNow.has(parent) && !await this.#isClosed(parent)) {
          ancestorsClosed = false
          break
        }
      }
      if (!ancestorsClosed) continue
      closedNow.add(entry.hash)
      ops.push(state.statuses.closeOp(this.#groupId, entry.hash))
    }
    // Awaited, though a crash that lost these would only have the next start settle them again: written
    // `later`, a member catching up on 10 000 messages took 6.0-6.7 s instead of 4.9 (likely as scans no
    // longer wait, and take fewer entries each).
    await state.batch(ops)
    for (const hash of pending.settled) this.#settled.add(hash)
    for (const hash of closedNow) {
      this.#closedEntries.add(hash)
      this.#fresh.delete(hash)
    }
  }

  /** Entries that waited for `device`'s chain key, now that it may have come. */
  async retryWaiting (device: string): Promise<void> {
    const { state, log } = this.#deps
    const entries: HashedEntry[] = []
    for (const hash of await state.statuses.waitingFor(this.#groupId, device)) {
      const entry = await log.get(hash)
      if (entry !== undefined) entries.push(entry)
    }
    for (const entry of entries.sort(byCausalOrder)) {
      const outcome = await this.#opener.open(entry)
      if (outcome.kind === 'defer') continue
      await this.#settle(entry, outcome, [state.statuses.delWaitingOp(this.#groupId, device, entry.hash)])
    }
  }

  async #isClosed (hash: string): Promise<boolean> {
    if (this.#closedEntries.has(hash)) return true
    if (this.#fresh.has(hash) || !await this.#deps.state.statuses.isClosed(this.#groupId, hash)) return false
    this.#closedEntries.add(hash)
    return true
  }

  async #isSettled (hash: string): Promise<boolean> {
    if (this.#settled.has(hash) || this.#awaitingHandled.has(hash)) return true
    if (this.#fresh.has(hash) || await this.#deps.state.statuses.entryStatus(this.#groupId, 'messages', hash) === undefined) return false
    this.#settled.add(hash)
    return true
  }

  /** Re-runs the scan when the oldest deferred entry's grace runs out. */
  #armDeferTimer (): void {
    clearTimeout(this.#deferTimer)
    this.#deferTimer = undefined
    if (this.#deferredSince.size === 0 || this.#closed) return
    const oldest = Math.min(...this.#deferredSince.values())
    this.#deferTimer = setTimeout(() => { this.#deps.rescan() }, Math.max(0, oldest + DEFER_GRACE_MS - this.#deps.now()) + 10)
    this.#deferTimer.unref()
  }

  /** Records what became of an entry, writing `alsoWrite` with it; a plain status goes into `pending` when given, to be written with others. */
  async #settle (entry: HashedEntry, outcome: Exclude<MessageOutcome, { kind: 'defer' }>, alsoWrite: StateOp[], pending?: PendingWrites): Promise<void> {
    const { state, events, logger } = this.#deps
    if (outcome.kind === 'deliver') {
      // What the key's use writes before delivery (the chain, and the key, for a consumer far behind) waits
      // for the next batch: writes land in order, so a crash that loses it loses every later write of the
      // chain too, and the next start takes the key from the chain as it was, and delivers the message again.
      state.later(outcome.changes.ops).catch((err: unknown) => { logger.warn({ err, entry: entry.hash }, 'could not record a message key taken: the next start takes it again') })
      outcome.changes.after?.()
      this.#awaitingHandled.add(entry.hash)
      const markHandled = once(async () => {
        // Closed at once if everything behind it is: the next scan then need not look at it.
        const closes = entry.next.every((parent) => this.#closedEntries.has(parent))
        const keyChanges = outcome.whenHandled()
        await state.batch([
          ...keyChanges.ops,
          ...alsoWrite,
          state.statuses.setStatusOp(this.#groupId, 'messages', entry.hash, 'handled', outcome.author),
          ...(closes ? [state.statuses.closeOp(this.#groupId, entry.hash)] : [])
        ])
        keyChanges.after?.()
        this.#awaitingHandled.delete(entry.hash)
        this.#settled.add(entry.hash)
        if (closes) {
          this.#closedEntries.add(entry.hash)
          this.#fresh.delete(entry.hash)
        }
      })
      logger.trace({ entry: entry.hash, event: outcome.name }, 'delivering')
      events.deliver(outcome.name, { ...outcome.event, markHandled } as never)
      return
    }
    if (outcome.status === 'dropped') {
      logger.warn({ entry: entry.hash, reason: outcome.reason, detail: outcome.detail }, 'dropped a message entry')
    }
    if (pending !== undefined && outcome.changes === undefined && alsoWrite.length === 0) {
      pending.ops.push(state.statuses.setStatusOp(this.#groupId, 'messages', entry.hash, outcome.status, outcome.author))
      pending.settled.add(entry.hash)
      return
    }
    await state.batch([...(outcome.changes?.ops ?? []), ...alsoWrite, state.statuses.setStatusOp(this.#groupId, 'messages', entry.hash, outcome.status, outcome.author)])
    outcome.changes?.after?.()
    this.#settled.add(entry.hash)
  }
}
