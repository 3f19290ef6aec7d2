/**
 * The messages a chat session has shown, numbered so a person can name one
 * (`/reply 3 yes`, `/react 3 👍`, `/edit 5 ...`), and remembered so that a
 * reply can show what it answers and a change to a shown message can be told
 * as a change. A message gets its number when it is first printed: those of
 * others as they arrive, ours when `/history` (or a change to them) prints
 * them.
 */
import type { DeliveryState, MessageView } from '../client/index.ts'
import type { Group } from '../protocol/index.ts'
import { safeLine } from './chat-lines.ts'

/** How many messages are remembered; older numbers are forgotten. */
const REMEMBERED = 1000
/** How much of the answered message a reply quotes. */
const QUOTE_LENGTH = 40

export interface ShownMessage {
  /** Its number on screen, once it was printed. */
  number: number | undefined
  readonly group: Group
  /** Its seq in the conversation's history: what the client's actions name. */
  readonly seq: number
  id: string | undefined
  text: string
  readonly own: boolean
  /** What was last printed of it, to tell what changed. */
  printed: string | undefined
  /** Its rows of buttons, as last printed. */
  buttons: MessageView['buttons']
  /** Ours: the furthest state the client told, which a page of history read just before cannot take back. */
  state: DeliveryState | undefined
}

/** How far along each delivery state is: a message only moves forward. */
const PROGRESS: Record<DeliveryState, number> = { sending: 0, pending: 1, sent: 2, failed: 2, seen: 3 }

export class ShownMessages {
  readonly #bySeq = new Map<string, ShownMessage>()
  readonly #byId = new Map<string, ShownMessage>()
  readonly #byNumber = new Map<number, ShownMessage>()
  #next = 1
  /** The number of the last message printed with buttons, for `/press <n>`. */
  lastWithButtons: number | undefined

  /** The message as remembered, created if new (with no number yet). */
  remember (group: Group, view: MessageView): ShownMessage {
    const key = `${group.id}/${view.seq}`
    let shown = this.#bySeq.get(key)
    if (shown === undefined) {
      shown = { number: undefined, group, seq: view.seq, id: undefined, text: view.text, own: view.sender.own, printed: undefined, buttons: [], state: view.state }
      this.#bySeq.set(key, shown)
      this.#forgetOldest()
    }
    shown.text = view.text
    if (view.state !== undefined && (shown.state === undefined || PROGRESS[view.state] > PROGRESS[shown.state])) shown.state = view.state
    if (view.messageId !== undefined && shown.id === undefined) {
      shown.id = view.messageId
      this.#byId.set(view.messageId, shown)
    }
    return shown
  }

  /** Its number, given now if it has none. */
  number (shown: ShownMessage): number {
    if (shown.number === undefined) {
      shown.number = this.#next++
      this.#byNumber.set(shown.number, shown)
    }
    return shown.number
  }

  known (group: Group, seq: number): ShownMessage | undefined {
    return this.#bySeq.get(`${group.id}/${seq}`)
  }

  byNumber (number: number): ShownMessage | undefined {
    return this.#byNumber.get(number)
  }

  /**
   * What a reply to `id` shows of it: `re #3 "the start of it…"`, `re your "…"`;
   * for one not shown in this session, what the history knows (`re bob's "…"`),
   * or `re an earlier message`.
   */
  describe (id: string, known?: { sender?: string | undefined, text?: string | undefined, deleted?: boolean | undefined }): string {
    const shown = this.#byId.get(id)
    if (known?.deleted === true) return `re ${shown?.number === undefined ? 'a' : `#${shown.number}, a`} deleted message`
    if (shown !== undefined) return `re ${shown.own ? 'your' : `#${shown.number ?? '?'}`} "${quote(shown.text)}"`
    if (known?.text === undefined) return 're an earlier message'
    return `re ${known.sender === 'You' ? 'your' : known.sender === undefined ? 'a' : `${safeLine(known.sender)}'s`} "${quote(known.text)}"`
  }

  #forgetOldest (): void {
    if (this.#bySeq.size <= REMEMBERED) return
    const [oldestKey, oldest] = this.#bySeq.entries().next().value as [string, ShownMessage]
    this.#bySeq.delete(oldestKey)
    if (oldest.id !== undefined) this.#byId.delete(oldest.id)
    if (oldest.number !== undefined) this.#byNumber.delete(oldest.number)
  }
}

/** The first words of a message on one line, made safe to print. */
export function quote (text: string, length = QUOTE_LENGTH): string {
  const line = safeLine(text.replace(/\s+/g, ' ').trim())
  return line.length <= length ? line : `${line.slice(0, length - 1)}…`
}
