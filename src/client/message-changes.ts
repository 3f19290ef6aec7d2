/**
 * What a reaction, an edit or a deletion does to a message in the history,
 * as pure functions: the message as it is, the change, the message as it
 * becomes. Each may come again (a crash before the event was marked handled
 * delivers it again), so each gives the same message when applied twice.
 * A deleted message stays deleted: what comes after its deletion is dropped.
 */
import { MAX_REACTIONS, type MessageChange, type StoredMessage } from './history-records.ts'

export type ChangeOutcome = { changed: true, message: StoredMessage } | { changed: false, why: string }

export function applyChange (message: StoredMessage, change: MessageChange): ChangeOutcome {
  if (message.deletedAt !== undefined) return { changed: false, why: 'the message was deleted' }
  switch (change.kind) {
    case 'reaction': return react(message, change)
    case 'edit': return edit(message, change)
    case 'deletion': return { changed: true, message: deleted(message, change.at, change.byAdmin === true) }
  }
}

function react (message: StoredMessage, change: Extract<MessageChange, { kind: 'reaction' }>): ChangeOutcome {
  const reactions = message.reactions ?? []
  const has = reactions.some((r) => r.account === change.account && r.emoji === change.emoji)
  if (change.removed) {
    if (!has) return { changed: false, why: 'no such reaction to take back' }
    const left = reactions.filter((r) => !(r.account === change.account && r.emoji === change.emoji))
    return { changed: true, message: withField(message, 'reactions', left.length === 0 ? undefined : left) }
  }
  if (has) return { changed: false, why: 'the reaction is there already' }
  if (reactions.length >= MAX_REACTIONS) return { changed: false, why: `the message has ${MAX_REACTIONS} reactions already` }
  return { changed: true, message: { ...message, reactions: [...reactions, { account: change.account, name: change.name, emoji: change.emoji }] } }
}

/** The edit's text, format and buttons replace the message's; a press of a button no longer there is forgotten. */
function edit (message: StoredMessage, change: Extract<MessageChange, { kind: 'edit' }>): ChangeOutcome {
  if (message.editedAt !== undefined && message.editedAt > change.at) return { changed: false, why: 'a later edit is shown already' }
  const payloads = new Set((change.buttons ?? []).flat().map((b) => b.payload))
  const pressed = (message.pressed ?? []).filter((p) => payloads.has(p))
  let next: StoredMessage = { ...message, text: change.text, editedAt: change.at }
  next = withField(next, 'format', change.format)
  next = withField(next, 'buttons', change.buttons === undefined || change.buttons.length === 0 ? undefined : change.buttons)
  return { changed: true, message: withField(next, 'pressed', pressed.length === 0 ? undefined : pressed) }
}

/** What is left of a deleted message: who sent it and when, and whether an admin deleted it; nothing of what it said. */
export function deleted (message: StoredMessage, at: number, byAdmin = false): StoredMessage {
  const { format, buttons, pressed, files, reactions, editedAt, invitation, staging, ...kept } = message
  return { ...kept, text: '', deletedAt: at, ...(byAdmin ? { deletedByAdmin: true } : {}) }
}

/** `message` with `field` set to `value`, or without it when `value` is undefined (records keep no undefined fields). */
function withField<K extends keyof StoredMessage> (message: StoredMessage, field: K, value: StoredMessage[K] | undefined): StoredMessage {
  const next = { ...message }
  if (value === undefined) delete next[field]
  else next[field] = value
  return next
}
