/**
 * What the buttons under the bot's sent messages send back, by message id:
 * a press names a message and a payload, and one whose payload the bot never
 * offered on that message (a forged one) must not reach `onButton` handlers.
 *
 * Written in the batch that takes the message out of the outbox (the store's
 * `markSent`), changed by the bot's own edits (their buttons replace the
 * message's) and deletions (none left). Bounded: past `MAX_OFFERED` messages
 * the oldest are forgotten, and any after `retentionMs`; a press on a message
 * forgotten is dropped as one the bot never offered.
 */
import type { z } from 'zod'
import type { ButtonRows, OutgoingMessage } from '../protocol/index.ts'
import { json, offeredButtonsSchema, parseJson, type StoreOp, type Sublevel } from './store-records.ts'

/** Messages whose buttons are remembered at most. */
export const MAX_OFFERED = 10_000
/** Forgetting starts this far past the bound, so that it runs once in a while rather than at every message. */
const SLACK = 1_000

export interface OfferedButtonsDeps {
  /** message id → its payloads and when they were offered. */
  byMessage: Sublevel
  /** `<time>/<message id>`, oldest first: which to forget first. */
  byTime: Sublevel
  now: () => number
  /** Writes a batch (the store's group commit). */
  write: (ops: StoreOp[]) => Promise<void>
}

const timeKey = (at: number, messageId: string): string => `${at.toString().padStart(16, '0')}/${messageId}`

export class OfferedButtons {
  readonly #deps: OfferedButtonsDeps
  /** How many messages are remembered (an estimate between prunings: a write may fail). */
  #count = 0

  private constructor (deps: OfferedButtonsDeps) {
    this.#deps = deps
  }

  /** Opens them, forgetting those offered before `now - retentionMs`. */
  static async open (deps: OfferedButtonsDeps, retentionMs: number): Promise<OfferedButtons> {
    const offered = new OfferedButtons(deps)
    const ops: StoreOp[] = []
    const before = timeKey(deps.now() - retentionMs, '')
    for await (const key of deps.byTime.keys()) {
      if (key < before) ops.push(...forgetOps(deps, key))
      else offered.#count++
    }
    await deps.write(ops)
    return offered
  }

  /** The payloads message `messageId` offers, and in which group, if it is one of the bot's messages with buttons. */
  async offered (messageId: string): Promise<{ group: string, payloads: readonly string[] } | undefined> {
    const record = await this.#read(messageId)
    return record === undefined ? undefined : { group: record.group, payloads: record.payloads }
  }

  /** What to write when `message` left to `group` as `messageId`: buttons it offers, or those it changes on an earlier message of ours. */
  async opsFor (group: string, message: OutgoingMessage, messageId: string): Promise<StoreOp[]> {
    switch (message.kind) {
      case undefined:
      case 'text':
        return this.#offerOps(group, messageId, message.buttons, undefined)
      case 'edit':
        return this.#offerOps(group, message.target, message.buttons, await this.#offeredAt(message.target))
      case 'deletion': {
        const at = await this.#offeredAt(message.target)
        if (at === undefined) return []
        this.#count--
        return forgetOps(this.#deps, timeKey(at, message.target))
      }
      default:
        return []
    }
  }

  /** Forgets the oldest when there are too many (after a write that added some). */
  async prune (): Promise<void> {
    if (this.#count <= MAX_OFFERED + SLACK) return
    const ops: StoreOp[] = []
    let forgotten = 0
    for await (const key of this.#deps.byTime.keys({ limit: this.#count - MAX_OFFERED })) {
      ops.push(...forgetOps(this.#deps, key))
      forgotten++
    }
    await this.#deps.write(ops)
    this.#count -= forgotten
  }

  /** Offers `buttons` on `messageId`, in place of what it offered since `earlier` (if it did). */
  #offerOps (group: string, messageId: string, buttons: ButtonRows | undefined, earlier: number | undefined): StoreOp[] {
    const payloads = (buttons ?? []).flat().map((button) => button.payload)
    const ops = earlier === undefined ? [] : forgetOps(this.#deps, timeKey(earlier, messageId))
    if (earlier !== undefined) this.#count--
    if (payloads.length === 0) return ops
    const at = this.#deps.now()
    this.#count++
    return [
      ...ops,
      { type: 'put', sublevel: this.#deps.byMessage, key: messageId, value: json({ group, payloads: [...new Set(payloads)], at }) },
      { type: 'put', sublevel: this.#deps.byTime, key: timeKey(at, messageId), value: new Uint8Array() }
    ]
  }

  /** When message `messageId`'s buttons were offered, if they are remembered. */
  async #offeredAt (messageId: string): Promise<number | undefined> {
    return (await this.#read(messageId))?.at
  }

  /** A damaged record counts as none: the press it would let through is dropped. */
  async #read (messageId: string): Promise<z.infer<typeof offeredButtonsSchema> | undefined> {
    const value = await this.#deps.byMessage.get(messageId)
    if (value === undefined) return undefined
    const parsed = offeredButtonsSchema.safeParse(parseJson(value))
    return parsed.success ? parsed.data : undefined
  }
}

/** Forgets the message a `byTime` key names. */
function forgetOps (deps: OfferedButtonsDeps, key: string): StoreOp[] {
  const messageId = key.slice(key.indexOf('/') + 1)
  return [{ type: 'del', sublevel: deps.byTime, key }, { type: 'del', sublevel: deps.byMessage, key: messageId }]
}
