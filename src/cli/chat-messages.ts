/**
 * The messages a chat session has shown, numbered so a person can answer one
 * (`/reply 3 yes`), and remembered so that a reply can show what it answers.
 */
import type { Group } from '../protocol/index.ts'

/** How many messages are remembered; older numbers are forgotten. */
const REMEMBERED = 1000
/** How much of the answered message a reply quotes. */
const QUOTE_LENGTH = 40

export interface ShownMessage {
  /** Its number on screen; our own messages have none (they are not printed again). */
  readonly number: number | undefined
  readonly group: Group
  readonly id: string
  readonly text: string
  readonly own: boolean
}

export class ShownMessages {
  readonly #byId = new Map<string, ShownMessage>()
  readonly #byNumber = new Map<number, ShownMessage>()
  #next = 1

  /** Remembers a message from someone else; returns its number. */
  received (group: Group, id: string, text: string): number {
    const number = this.#next++
    this.#remember({ number, group, id, text, own: false })
    return number
  }

  /** Remembers a message we sent, so that answers to it can say which. */
  sent (group: Group, id: string, text: string): void {
    this.#remember({ number: undefined, group, id, text, own: true })
  }

  byNumber (number: number): ShownMessage | undefined {
    return this.#byNumber.get(number)
  }

  /**
   * What a reply to `id` shows of it: `re #3 "the start of it…"`, `re your "…"`;
   * for one not shown in this session, what the history knows (`re bob's "…"`),
   * or `re an earlier message`.
   */
  describe (id: string, known?: { sender?: string | undefined, text?: string | undefined }): string {
    const shown = this.#byId.get(id)
    if (shown !== undefined) return `re ${shown.own ? 'your' : `#${shown.number}`} "${quote(shown.text)}"`
    if (known?.text === undefined) return 're an earlier message'
    return `re ${known.sender === 'You' ? 'your' : known.sender === undefined ? 'a' : `${known.sender}'s`} "${quote(known.text)}"`
  }

  #remember (message: ShownMessage): void {
    this.#byId.set(message.id, message)
    if (message.number !== undefined) this.#byNumber.set(message.number, message)
    if (this.#byId.size <= REMEMBERED) return
    const [oldestId, oldest] = this.#byId.entries().next().value as [string, ShownMessage]
    this.#byId.delete(oldestId)
    if (oldest.number !== undefined) this.#byNumber.delete(oldest.number)
  }
}

/** The first words of a message on one line. */
function quote (text: string): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length <= QUOTE_LENGTH ? line : `${line.slice(0, QUOTE_LENGTH - 1)}…`
}
