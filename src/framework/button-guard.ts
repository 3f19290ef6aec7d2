/**
 * Lets through only the presses of buttons the bot offered: a press names a
 * message and a payload, and anyone in the conversation can send one naming
 * any payload. The bot remembers what its messages offer (`offered-buttons.ts`);
 * a press of anything else is dropped, with a logged reason, before any
 * handler sees it.
 */
import type { Logger } from '../protocol/index.ts'
import type { Outbox } from './outbox.ts'
import type { BotStore } from './store.ts'

/** How long a press of a button under a message the outbox is still recording waits for it. */
const RECORDING_WAIT_MS = 5_000

export interface ButtonGuardDeps {
  store: Pick<BotStore, 'offeredButtons'>
  outbox: Pick<Outbox, 'settled'>
  logger: Logger
}

export interface Press {
  readonly group: string
  /** The message the button is under. */
  readonly target: string
  readonly payload: string
}

export class ButtonGuard {
  readonly #deps: ButtonGuardDeps

  constructor (deps: ButtonGuardDeps) {
    this.#deps = deps
  }

  /** True if the bot offered `press.payload` on `press.target`, in the group of the press; otherwise logs why the press is dropped. */
  async admits (press: Press): Promise<boolean> {
    const { store, outbox, logger } = this.#deps
    let offered = await store.offeredButtons(press.target)
    if (offered === undefined) {
      // The message may have just left: its buttons are recorded right after it is in the log, which the presser saw.
      await outbox.settled(press.group, RECORDING_WAIT_MS)
      offered = await store.offeredButtons(press.target)
    }
    if (offered?.group === press.group && offered.payloads.includes(press.payload)) return true
    logger.warn({ group: press.group, message: press.target, payload: press.payload.slice(0, 64) },
      offered?.group !== press.group
        ? 'dropped a button press: it names no message of the bot with buttons in that conversation (or one whose buttons are forgotten)'
        : 'dropped a button press: the bot did not offer that payload on that message')
    return false
  }
}
