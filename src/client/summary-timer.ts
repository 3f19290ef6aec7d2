/**
 * When a conversation's summary is told: once per conversation per
 * `SUMMARY_DELAY_MS`, gathering the changes meanwhile, so that a catch-up of
 * thousands of messages tells a few summaries, not one per message.
 */
import type { Group } from '../protocol/index.ts'

const SUMMARY_DELAY_MS = 50

export class SummaryTimer {
  readonly #tell: (group: Group) => void
  readonly #dirty = new Map<string, Group>()
  #timer: NodeJS.Timeout | undefined

  /** `tell` is called with each conversation that changed, once the delay has passed. */
  constructor (tell: (group: Group) => void) {
    this.#tell = tell
  }

  changed (group: Group): void {
    this.#dirty.set(group.id, group)
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined
      const groups = [...this.#dirty.values()]
      this.#dirty.clear()
      for (const dirty of groups) this.#tell(dirty)
    }, SUMMARY_DELAY_MS)
  }

  stop (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#dirty.clear()
  }
}
