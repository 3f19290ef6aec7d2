/**
 * Sends what handlers queued, from the store, so that a reply accepted by
 * `ctx.reply()` is sent even if the bot crashes right after. Each message has
 * a key of its own (`once`), under which the group records its id in the
 * write that appends it: sending again after a crash, or after a failure,
 * finds it there and sends nothing. Once the message is out of the outbox on
 * disk, the group forgets the record. (A message a bot older than `once` kept
 * sealed goes as those bytes, which the group recognises in its log.)
 * Messages to one group leave in order; groups are served concurrently.
 *
 * What waits for one group leaves in batches: the messages queued while the
 * group's previous batch was on its way are sealed and appended together, in
 * one write of the log, and taken out of the outbox in one write. Should a
 * batch fail, its messages go one by one, each retried on its own.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Backoff, InvalidMessageError, type Group, type Logger, type OutgoingMessage, type Peer } from '../protocol/index.ts'
import { OrderedDispatcher } from './dispatcher.ts'
import { messageOf, rootsOf, sealedOf } from './files.ts'
import type { BotStore } from './store.ts'
import { OUTBOX_ONCE_PREFIX, type OutboxItem } from './store-records.ts'

const MIN_RETRY_MS = 500
const MAX_RETRY_MS = 30_000
/**
 * At most this many messages a batch: well inside the 100 counters a receiver
 * accepts ahead of the last it saw, should a crash leave a batch sealed and unsent.
 */
const MAX_BATCH = 50

interface Queued { item: OutboxItem, mayBeSent: boolean }

export interface OutboxHooks {
  /** Called after each message left. */
  onSent?: () => void
  /** The clock pending ages are measured on. */
  now?: () => number
}

export class Outbox {
  readonly #store: BotStore
  readonly #peer: Peer
  readonly #logger: Logger
  readonly #dispatcher: OrderedDispatcher
  readonly #inFlight = new Set<number>()
  /** Per group, what waits for the batch on its way to leave. */
  readonly #queued = new Map<string, Queued[]>()
  /** seq → when this run of the bot first tried to send it. */
  readonly #pendingSince = new Map<number, number>()
  readonly #hooks: OutboxHooks
  readonly #stop = new AbortController()
  #scanning: Promise<void> | undefined
  /** Items queued while `start` drops the records a crash left: they wait for it to finish. */
  #heldAtStart: OutboxItem[] | undefined
  #rescan = false
  #sentCount = 0

  constructor (store: BotStore, peer: Peer, logger: Logger, concurrency: number, hooks: OutboxHooks = {}) {
    this.#store = store
    this.#hooks = hooks
    this.#peer = peer
    this.#logger = logger
    this.#dispatcher = new OrderedDispatcher(concurrency, (err) => { logger.error({ err }, 'outbox task failed') })
  }

  /** Messages sent since start. */
  get sentCount (): number {
    return this.#sentCount
  }

  /** Since when the oldest message still waiting has been waiting (this run), if any waits. */
  oldestPendingSince (): number | undefined {
    let oldest: number | undefined
    for (const since of this.#pendingSince.values()) oldest = oldest === undefined ? since : Math.min(oldest, since)
    return oldest
  }

  /** Sends items just committed (they are on disk already); the files they carry are kept from now on (`files.ts`). */
  enqueue (items: OutboxItem[]): void {
    const roots = rootsOf(items)
    if (roots.length > 0) this.#peer.files.keep(roots).catch((err: unknown) => { this.#logger.warn({ err }, 'could not mark queued files as kept: the next start keeps them') })
    if (this.#heldAtStart !== undefined) this.#heldAtStart.push(...items)
    else for (const item of items) this.#dispatch(item, false)
  }

  /**
   * At start, before sending anything: drops the group records of messages
   * that left the outbox but whose records a crash kept (`group.forgetSent`
   * was lost), keeping those of every message still in it, then sends what
   * the store holds, and after it what was queued meanwhile.
   */
  async start (): Promise<void> {
    this.#heldAtStart = []
    let pending: OutboxItem[] | undefined
    try {
      pending = await this.#store.pending()
      const keep = pending.flatMap((item) => item.once === undefined ? [] : [item.once])
      const dropped = await this.#peer.forgetSentOnce({ keyPrefix: OUTBOX_ONCE_PREFIX, keep })
      if (dropped > 0) this.#logger.info({ dropped }, 'dropped the records of messages that left the outbox before a crash')
    } catch (err) {
      this.#logger.warn({ err }, 'could not drop the records of messages that left the outbox before a crash: the next start tries again')
    }
    const held = this.#heldAtStart
    this.#heldAtStart = undefined
    // Sealed in an earlier run, they may be in the log already; in order, before what came after them.
    if (pending === undefined) this.sendPending()
    else for (const item of pending) this.#dispatch(item, true)
    for (const item of held) this.#dispatch(item, false)
  }

  #dispatch (item: OutboxItem, mayBeSent: boolean): void {
    if (this.#inFlight.has(item.seq) || this.#stop.signal.aborted) return
    this.#inFlight.add(item.seq)
    if (!this.#pendingSince.has(item.seq)) this.#pendingSince.set(item.seq, (this.#hooks.now ?? Date.now)())
    const queue = this.#queued.get(item.group)
    if (queue !== undefined) {
      queue.push({ item, mayBeSent })
      return
    }
    this.#queued.set(item.group, [{ item, mayBeSent }])
    this.#dispatchBatch(item.group)
  }

  #dispatchBatch (group: string): void {
    this.#dispatcher.dispatch(group, async () => {
      const queue = this.#queued.get(group) ?? []
      const batch = queue.splice(0, MAX_BATCH)
      try {
        for (const run of runs(batch)) await this.#deliverRun(run)
      } finally {
        if (queue.length === 0) this.#queued.delete(group)
        else this.#dispatchBatch(group)
      }
    })
  }

  /** Sends `run` (one group's, in order) as a batch; if that fails, each message on its own. */
  async #deliverRun (run: Queued[]): Promise<void> {
    if (run.length > 1 && !this.#stop.signal.aborted) {
      try {
        await this.#deliverTogether(run.map((q) => q.item), run.some((q) => q.mayBeSent))
        return
      } catch (err) {
        this.#logger.debug({ err, group: run[0]?.item.group, messages: run.length }, 'a batch of queued messages failed; sending them one by one')
      }
    }
    // After a failed batch, each as the store holds it now (sealed, perhaps): read once.
    const stored = run.length > 1 ? new Map((await this.#store.pending()).map((i) => [i.seq, i])) : undefined
    for (const { item, mayBeSent } of run) {
      // One that went out with the batch is out of the outbox already.
      if (!this.#inFlight.has(item.seq)) continue
      const current = stored === undefined ? item : stored.get(item.seq)
      if (current === undefined) {
        this.#inFlight.delete(item.seq)
        this.#pendingSince.delete(item.seq)
        continue
      }
      await this.#deliver(current, mayBeSent || run.length > 1)
    }
  }

  /** One group's messages, in one seal, one append and one write each; throws if any step fails. */
  async #deliverTogether (items: OutboxItem[], mayBeSent: boolean): Promise<void> {
    const groupId = (items[0] as OutboxItem).group
    const group = this.#peer.group(groupId)
    if (group === undefined) throw new Error(`not in group ${groupId}`)
    let ready = items
    let ids: string[]
    if (items.every(sendsOnce)) {
      const messages = await Promise.all(items.map(async (item) => await this.#ready(item)))
      // Asked for in order, at once: the group seals and appends them together.
      ids = await Promise.all(items.map(async (item, i) => await group.send(messages[i] as OutgoingMessage, { once: { key: item.once as string, mayBeSent } })))
    } else {
      const unsealed = items.filter((item) => item.sealed === undefined)
      const messages = await Promise.all(unsealed.map(async (item) => await this.#ready(item)))
      const sealed = unsealed.length === 0 ? [] : await this.#store.setSealedMany(unsealed, await group.sealMany(messages))
      const bySeq = new Map(sealed.map((item) => [item.seq, item]))
      ready = items.map((item) => bySeq.get(item.seq) ?? item)
      ids = await group.sendSealedMany(ready.map(sealedOf), { mayBeSent: mayBeSent || sealed.length < items.length })
    }
    await this.#store.markSentMany(ready, ids, () => { group.forgetSent(onceKeys(ready)) })
    for (const item of ready) {
      this.#sentCount++
      this.#pendingSince.delete(item.seq)
      this.#inFlight.delete(item.seq)
      this.#hooks.onSent?.()
    }
  }

  /**
   * Resolves once what is being sent to `group` now has left and is recorded
   * (its id, its tag, its buttons), or after `timeoutMs`: for a press of a
   * button under a message that left a moment ago.
   */
  async settled (group: string, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs) })
    try {
      await Promise.race([this.#dispatcher.settled(group), expired])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Sends every message the store holds as not sent yet: at start, after a restart or a crash. */
  sendPending (): void {
    if (this.#stop.signal.aborted) return
    if (this.#scanning !== undefined) {
      this.#rescan = true
      return
    }
    this.#scanning = (async () => {
      do {
        this.#rescan = false
        // Sealed in an earlier run: it may be in the log already.
        for (const item of await this.#store.pending()) this.#dispatch(item, true)
      } while (this.#rescan && !this.#stop.signal.aborted)
    })().catch((err: unknown) => { this.#logger.error({ err }, 'could not read the outbox') }).finally(() => { this.#scanning = undefined })
  }

  /** Waits until everything queued is sent, or `timeoutMs` passes; true if the outbox is empty. */
  async drain (timeoutMs: number): Promise<boolean> {
    // One timer, cleared on the way out: a pending one would keep the process alive after stop().
    const deadline = new AbortController()
    const timer = setTimeout(() => { deadline.abort() }, timeoutMs)
    const expired = new Promise<void>((resolve) => { deadline.signal.addEventListener('abort', () => { resolve() }, { once: true }) })
    try {
      while (!deadline.signal.aborted) {
        await Promise.race([(async () => { await this.#scanning; await this.#dispatcher.drain() })(), expired])
        if (await this.#store.outboxSize() === 0) return true
        if (this.#inFlight.size === 0) this.sendPending()
        await Promise.race([sleep(50), expired])
      }
      return await this.#store.outboxSize() === 0
    } finally {
      clearTimeout(timer)
    }
  }

  stop (): void {
    this.#stop.abort()
  }

  /**
   * The message to seal: a text answers its own `replyTo`, else the message
   * sent with `replyToTag` (sent before it: one group's messages leave in order).
   */
  async #ready (item: OutboxItem): Promise<OutgoingMessage> {
    const message = messageOf(item)
    const { replyToTag } = item
    if (replyToTag === undefined || replyToOf(message) !== undefined || (message.kind !== undefined && message.kind !== 'text')) return message
    const replyTo = await this.#store.messageIdOf(replyToTag)
    return replyTo === undefined ? message : { ...message, replyTo }
  }

  /** Sends one message under its key, or as the bytes an older bot sealed it to (sealing them now if it did not yet). */
  async #send (group: Group, item: OutboxItem, mayBeSent: boolean): Promise<string> {
    if (sendsOnce(item)) return await group.send(await this.#ready(item), { once: { key: item.once as string, mayBeSent } })
    const sealed = item.sealed === undefined ? await this.#store.setSealed(item, await group.seal(await this.#ready(item))) : item
    return await group.sendSealed(sealedOf(sealed), { mayBeSent: mayBeSent || item.sealed !== undefined })
  }

  async #deliver (item: OutboxItem, mayBeSent: boolean): Promise<void> {
    const backoff = new Backoff({ minMs: MIN_RETRY_MS, maxMs: MAX_RETRY_MS })
    try {
      while (!this.#stop.signal.aborted) {
        const group = this.#peer.group(item.group)
        if (group === undefined) {
          this.#logger.warn({ group: item.group }, 'dropped a queued message: the bot is no longer in that group')
          await this.#store.markDropped(item)
          this.#pendingSince.delete(item.seq)
          return
        }
        try {
          const id = await this.#send(group, item, mayBeSent)
          await this.#store.markSent(item, id, () => { group.forgetSent(onceKeys([item])) })
          this.#sentCount++
          this.#pendingSince.delete(item.seq)
          this.#hooks.onSent?.()
          return
        } catch (err) {
          if (err instanceof InvalidMessageError) {
            this.#logger.error({ err, group: item.group }, 'dropped a queued message the group refuses')
            await this.#store.markDropped(item)
            this.#pendingSince.delete(item.seq)
            return
          }
          if (this.#stop.signal.aborted) return
          this.#logger.warn({ err, group: item.group }, 'could not send a queued message; will retry')
          await backoff.wait(this.#stop.signal).catch(() => {})
          // It may have gone out: the group finds its key, or its sealed bytes.
          item = (await this.#store.pending()).find((i) => i.seq === item.seq) ?? item
          mayBeSent = true
        }
      }
    } finally {
      this.#inFlight.delete(item.seq)
    }
  }
}

/**
 * Splits one group's batch where a message answers, by tag, one sent earlier
 * in the same batch: its id is known only once that one is in the log.
 */
function runs (batch: Queued[]): Queued[][] {
  const result: Queued[][] = []
  let run: Queued[] = []
  let tags = new Set<string>()
  for (const queued of batch) {
    const { replyToTag, message } = queued.item
    if (replyToOf(message) === undefined && replyToTag !== undefined && tags.has(replyToTag)) {
      result.push(run)
      run = []
      tags = new Set()
    }
    run.push(queued)
    if (queued.item.tag !== undefined) tags.add(queued.item.tag)
  }
  if (run.length > 0) result.push(run)
  return result
}

/** The message a text answers, if it says. */
function replyToOf (message: OutgoingMessage): string | undefined {
  return message.kind === undefined || message.kind === 'text' ? message.replyTo : undefined
}

/** Sent under its own key (`once`), rather than as bytes a bot older than that sealed. */
function sendsOnce (item: OutboxItem): boolean {
  return item.once !== undefined && item.sealed === undefined
}

function onceKeys (items: readonly OutboxItem[]): string[] {
  return items.flatMap((item) => sendsOnce(item) ? [item.once as string] : [])
}
