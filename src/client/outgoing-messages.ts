/**
 * Our messages on their way, each through a write-ahead record in the
 * history, so a message typed is never lost: written as `sending` (by the
 * client), sealed (the sealed bytes kept in the record, so a crash resends
 * the same message), sent (`pending` until a peer of the group has it, then
 * `sent`), or `failed` when the peer refuses it. What was typed and not sent
 * goes out at the next start.
 */
import type PQueue from 'p-queue'
import { InvalidMessageError, type Group, type HandedOverEvent, type Logger, type Peer, type SealedMessage } from '../protocol/index.ts'
import { fileReference } from './client-files.ts'
import type { HistoryStore, StoredMessage } from './history.ts'

export interface OutgoingMessagesDeps {
  peer: Peer
  history: HistoryStore
  logger: Logger
  /** Where writes to the history are put in order with the incoming events'. */
  queue: PQueue
  /** A message of ours changed in the history. */
  changed: (group: Group, message: StoredMessage) => Promise<void>
  /** True once the client is closed: nothing more is told. */
  closed: () => boolean
  /** A message whose file was being stored when the client stopped: it fails (`client-files.ts`). */
  failStaged: (group: Group, message: StoredMessage) => Promise<StoredMessage | undefined>
}

export class OutgoingMessages {
  readonly #deps: OutgoingMessagesDeps
  /** Our sends in flight, so closing waits for them. */
  readonly #sending = new Set<Promise<void>>()
  /** Per group, the furthest position a peer of the group was handed this session. */
  readonly #handedUpTo = new Map<string, number>()

  constructor (deps: OutgoingMessagesDeps) {
    this.#deps = deps
  }

  /** Sends a message written as `sending`, in the background. */
  send (group: Group, message: StoredMessage): void {
    const work = this.#deliver(group, message)
    this.#sending.add(work)
    void work.finally(() => { this.#sending.delete(work) })
  }

  /** At start: what was typed and not sent goes out; what was sent waits to be handed over. */
  async resume (): Promise<void> {
    const { history, peer } = this.#deps
    for (const id of history.conversations()) {
      const group = peer.group(id)
      if (group === undefined) continue
      for (const message of await history.unsent(id)) {
        if (message.staging === true) await this.#deps.failStaged(group, message)
        else if (message.state === 'sending') this.send(group, message)
      }
    }
  }

  /** A peer of the group has our messages up to `upTo`: those are `sent`. */
  handedOver (e: HandedOverEvent): void {
    const id = e.group.id
    if (e.upTo <= (this.#handedUpTo.get(id) ?? -1)) return
    this.#handedUpTo.set(id, e.upTo)
    this.#deps.queue.add(async () => {
      for (const message of await this.#deps.history.unsent(id)) {
        if (message.state === 'pending' && message.position !== undefined && message.position <= e.upTo) {
          await this.#setState(e.group, message.seq, { state: 'sent' })
        }
      }
    }).catch((err: unknown) => { this.#deps.logger.warn({ err }, 'could not record a delivery') })
  }

  /** Lets the sends in flight finish their step. */
  async idle (): Promise<void> {
    await Promise.allSettled([...this.#sending])
  }

  /** Seals (kept in the record, so a crash resends it), sends, and records where it went. */
  async #deliver (group: Group, message: StoredMessage): Promise<void> {
    const { history } = this.#deps
    const id = group.id
    try {
      const sealedNow = message.sealed === undefined
      let sealed: SealedMessage
      if (message.sealed === undefined) {
        sealed = await group.seal({ text: message.text, replyTo: message.replyTo, files: message.files?.map(fileReference) })
        await history.update(id, message.seq, { sealed: Buffer.from(sealed.bytes).toString('base64') })
      } else {
        // The files' roots are named outside the encryption when it is sent, as the seal named them.
        sealed = { group: id, bytes: new Uint8Array(Buffer.from(message.sealed, 'base64')), files: message.files?.map((f) => f.root) }
      }
      const messageId = await group.sendSealed(sealed, { mayBeSent: !sealedNow })
      const position = await group.positionOf(messageId)
      const handed = position !== undefined && position <= (this.#handedUpTo.get(id) ?? -1)
      await this.#setState(group, message.seq, { messageId, position, state: handed ? 'sent' : 'pending', sealed: undefined })
    } catch (err) {
      if (err instanceof InvalidMessageError) {
        await this.#setState(group, message.seq, { state: 'failed', sealed: undefined })
        return
      }
      // Still `sending` on disk (sealed, if it got that far): the next start sends it.
      if (!this.#deps.closed()) this.#deps.logger.warn({ err, conversation: id }, 'could not send a message yet; it is sent at the next start')
    }
  }

  async #setState (group: Group, seq: number, change: Partial<StoredMessage>): Promise<void> {
    const updated = await this.#deps.history.update(group.id, seq, change)
    if (updated !== undefined && !this.#deps.closed()) await this.#deps.changed(group, updated)
  }
}
