/**
 * Our reactions, edits, deletions and button presses, sent from their
 * records (`pending-actions.ts`), one at a time in the order they were made
 * (a reaction taken back right after it was put must not overtake it):
 * sealed (the sealed bytes kept in the record), sent, then the record
 * deleted. What a crash or a stop left is sent at the next start.
 */
import PQueue from 'p-queue'
import { InvalidMessageError, type Logger, type Peer, type SealedMessage } from '../protocol/index.ts'
import type { PendingActions, StoredAction } from './pending-actions.ts'

export interface OutgoingActionsDeps {
  peer: Peer
  actions: PendingActions
  logger: Logger
  /** True once the client is closed: what is left goes at the next start. */
  closed: () => boolean
}

export class OutgoingActions {
  readonly #deps: OutgoingActionsDeps
  readonly #queue = new PQueue({ concurrency: 1 })

  constructor (deps: OutgoingActionsDeps) {
    this.#deps = deps
  }

  /** Sends a recorded action, after those before it. */
  send (action: StoredAction): void {
    this.#queue.add(async () => { await this.#deliver(action) }).catch((err: unknown) => {
      if (!this.#deps.closed()) this.#deps.logger.warn({ err, conversation: action.conversation }, 'could not send a reaction, edit, deletion or press yet; it is sent at the next start')
    })
  }

  /** At start: what was recorded and not sent goes out, in order. */
  async resume (): Promise<void> {
    for (const action of await this.#deps.actions.all()) this.send(action)
  }

  async idle (): Promise<void> {
    await this.#queue.onIdle()
  }

  async #deliver (action: StoredAction): Promise<void> {
    if (this.#deps.closed()) return
    const { peer, actions, logger } = this.#deps
    const group = peer.group(action.conversation)
    if (group === undefined) {
      logger.warn({ conversation: action.conversation }, 'dropped an action of a conversation this peer no longer has')
      await actions.done(action)
      return
    }
    let sealed: SealedMessage
    if (action.sealed === undefined) {
      try {
        sealed = await group.seal(action.message)
      } catch (err) {
        if (!(err instanceof InvalidMessageError)) throw err
        logger.warn({ err, conversation: action.conversation }, 'dropped an action the peer refuses')
        await actions.done(action)
        return
      }
      await actions.sealed(action, Buffer.from(sealed.bytes).toString('base64'))
    } else {
      sealed = { group: group.id, bytes: new Uint8Array(Buffer.from(action.sealed, 'base64')) }
    }
    await group.sendSealed(sealed, { mayBeSent: action.sealed !== undefined })
    await actions.done(action)
  }
}
