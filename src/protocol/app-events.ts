/**
 * What an app message read from a group's message log becomes: the event to
 * deliver, or why it is dropped. An edit is delivered only when its sender
 * wrote the message it changes, a deletion also when its sender is an admin
 * of the group (`message-authors.ts`); a user message's author is remembered
 * for that.
 *
 * An admin's deletion is judged against the admins as this peer's roles
 * stand when it opens the deletion. The message log and the metadata log,
 * where roles are, have no order in common (each has its own clock), so a
 * deletion has no place among the role changes to be judged at; naming the
 * metadata heads its sender saw would give it one, but a revoked admin could
 * name heads from before its revocation, so that would protect nothing more.
 * A revoked admin's deletion is thus refused by every member that has seen
 * the revocation, and so is a new admin's by a member that has not seen the
 * grant yet: a deletion is taken or dropped once, where it is opened.
 */
import type { AbortOptions } from './abort.ts'
import { AppMessageType, type AppMessage, type ButtonRows, type MessageFormat } from './app-messages.ts'
import type { DropReason } from './errors.ts'
import type { DeliverableEventName, PeerEvents, Sender } from './events.ts'
import type { FileStore } from './file-store.ts'
import { receivedFile } from './group-files.ts'
import { decodeInvitation } from './group-keys.ts'
import type { Group } from './handles.ts'
import { mayChange, type ChangedBy, type MessageAuthors, type MessageChange } from './message-authors.ts'

/** An event ready to deliver, but for its `markHandled`, which depends on how it is settled. */
export type PendingEvent = { [K in DeliverableEventName]: { name: K, event: Omit<Parameters<PeerEvents[K]>[0], 'markHandled'> } }[DeliverableEventName]

export type AppEventOutcome =
  | ({ kind: 'event', author: Uint8Array | undefined } & PendingEvent)
  | { kind: 'drop', reason: DropReason, detail: string }

export interface AppEventsDeps {
  authors: MessageAuthors
  /** Account ids of the admins of the epoch whose log this is, as they stand now (none in a contact group). */
  admins: () => ReadonlySet<string>
  joinGroup: (invitation: string, options?: AbortOptions) => Promise<Group>
  /** Where the files messages carry are read from. */
  files: Pick<FileStore, 'read'>
}

/** What every event of one entry has. */
interface EventBase {
  readonly group: Group
  readonly id: string
  readonly sender: Sender
  readonly sentAt: Date
}

export class AppEvents {
  readonly #deps: AppEventsDeps

  constructor (deps: AppEventsDeps) {
    this.#deps = deps
  }

  /**
   * The event `message` makes, sent as `base` says; `authorKey` is its
   * sender's account key, kept with the status of a message its author alone
   * may change (`author` of the outcome). `namedFiles`: the roots its entry
   * names outside the encryption, which must include every file it carries
   * (so that replicas keep them).
   */
  async eventOf (message: AppMessage, base: EventBase, authorKey: Uint8Array | undefined, namedFiles: readonly string[] | undefined): Promise<AppEventOutcome> {
    const event = <K extends DeliverableEventName>(name: K, fields: Omit<Parameters<PeerEvents[K]>[0], 'markHandled' | keyof EventBase>, author?: Uint8Array): AppEventOutcome =>
      ({ kind: 'event', name, event: { ...base, ...fields }, author } as AppEventOutcome)
    switch (message.type) {
      case AppMessageType.UserMessage: {
        const files = message.files ?? []
        if (files.some((file) => namedFiles?.includes(file.root) !== true)) return { kind: 'drop', reason: 'malformed', detail: 'the message carries a file its entry does not name' }
        if (authorKey !== undefined) this.#deps.authors.remember(base.id, base.sender.account)
        return event('message', {
          text: message.text,
          replyTo: message.replyTo,
          format: formatOf(message.format),
          buttons: buttonsOf(message.buttons),
          files: files.map((file) => receivedFile(file, this.#deps.files))
        }, authorKey)
      }
      case AppMessageType.UserReaction:
        return event('reaction', { target: message.target, emoji: message.emoji, removed: message.remove === true })
      case AppMessageType.EditMessage: {
        const by = await this.#change('edit', message.target, base.sender)
        if (typeof by !== 'string') return by
        return event('messageEdited', { target: message.target, text: message.text, format: formatOf(message.format), buttons: buttonsOf(message.buttons) })
      }
      case AppMessageType.DeleteMessage: {
        const by = await this.#change('deletion', message.target, base.sender)
        if (typeof by !== 'string') return by
        return event('messageDeleted', { target: message.target, deletedBy: by })
      }
      case AppMessageType.PressButton:
        return event('buttonPressed', { target: message.target, payload: message.payload })
      case AppMessageType.Acknowledge:
        return event('acknowledgement', { target: message.target })
      case AppMessageType.GroupInvitation: {
        let groupName: string
        try {
          groupName = decodeInvitation(message.invitation).name
        } catch (err) {
          return { kind: 'drop', reason: 'malformed', detail: `invitation: ${(err as Error).message}` }
        }
        const { invitation } = message
        const joinGroup = this.#deps.joinGroup
        return event('groupInvitation', { invitation, groupName, accept: async (options?: AbortOptions) => await joinGroup(invitation, options) })
      }
      default:
        return { kind: 'drop', reason: 'unknown-type', detail: `app message type ${message.type} does not belong on the message log` }
    }
  }

  /** In what right `sender` makes `change` to message `target`, or why it may not (the drop). */
  async #change (change: MessageChange, target: string, sender: Sender): Promise<ChangedBy | AppEventOutcome> {
    const author = await this.#deps.authors.of(target)
    if (author === undefined) return { kind: 'drop', reason: 'unknown-target', detail: `${change} of ${target}, which is not a message this peer knows` }
    const by = mayChange(change, sender.account, author, this.#deps.admins().has(sender.account))
    if (by === undefined) {
      const right = change === 'deletion' ? ', nor is an admin of the group' : ''
      return { kind: 'drop', reason: 'not-the-author', detail: `${change} of ${target} by ${sender.account}, who did not write it (${author} did)${right}` }
    }
    return by
  }
}

/** A message's format as events give it: no flag is plain text. */
function formatOf (flag: 'markdown' | undefined): MessageFormat {
  return flag ?? 'plain'
}

/** A message's buttons as events give them: none is an empty list. */
function buttonsOf (rows: ButtonRows | undefined): ButtonRows {
  return rows ?? []
}
