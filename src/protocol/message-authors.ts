/**
 * Who wrote each message of a group that may be edited or deleted, so that
 * an edit is taken from its author only, and a deletion from its author or,
 * in a multi-member group, one of the group's admins.
 *
 * The author is kept with the entry's status (`entry-statuses.ts`), which the
 * pipeline writes for every entry anyway: no write of its own. A message's
 * status is written once it is handled, and an edit of it may be opened
 * before that (the consumer is still at work on the message), so authors are
 * also remembered in memory from the moment a message is opened.
 */
import { keyToId } from './encoding.ts'
import type { EntryStatuses } from './entry-statuses.ts'

/** Messages whose author is remembered in memory; older ones are read from their status. */
const REMEMBERED = 50_000

export interface MessageAuthorsDeps {
  statuses: EntryStatuses
  groupId: string
  /** Our own account id: the author of the entries this device wrote (status `own`). */
  ownAccount: string
}

/** What a message may have done to it by someone: edited, or deleted. */
export type MessageChange = 'edit' | 'deletion'

/** In what right a change was made to a message: its author's, or a group admin's. */
export type ChangedBy = 'author' | 'admin'

/**
 * In what right `by` may make `change` to a message `author` wrote, if it
 * may: its author always; an admin (`byAdmin`: `by` is one of the group's
 * admins, never so in a contact group) may delete anyone's message, but
 * edits stay the author's alone (words put in someone's mouth are worse than
 * words taken away).
 */
export function mayChange (change: MessageChange, by: string, author: string, byAdmin: boolean): ChangedBy | undefined {
  if (by === author) return 'author'
  if (change === 'deletion' && byAdmin) return 'admin'
  return undefined
}

export class MessageAuthors {
  readonly #deps: MessageAuthorsDeps
  /** entry hash → author's account id, oldest first. */
  readonly #recent = new Map<string, string>()

  constructor (deps: MessageAuthorsDeps) {
    this.#deps = deps
  }

  /** Remembers who wrote the message `hash`, until its status (which carries it too) is written. */
  remember (hash: string, account: string): void {
    this.#recent.delete(hash)
    this.#recent.set(hash, account)
    if (this.#recent.size > REMEMBERED) this.#recent.delete(this.#recent.keys().next().value as string)
  }

  forget (hash: string): void {
    this.#recent.delete(hash)
  }

  /** The account that wrote message `hash`, if it is one whose author is known (undefined for any other entry). */
  async of (hash: string): Promise<string | undefined> {
    const remembered = this.#recent.get(hash)
    if (remembered !== undefined) return remembered
    const record = await this.#deps.statuses.entryRecord(this.#deps.groupId, 'messages', hash)
    if (record?.status === 'own') return this.#deps.ownAccount
    return record?.author === undefined ? undefined : keyToId(record.author)
  }
}
