/**
 * Folding what the server sends into what the page holds: messages by seq
 * (an event for a seq already shown is an update of it, a delivery state
 * moving on), conversations by id, newest first.
 */
import type { ConversationSummary, DeliveryState, HistoryMessage } from '../api.ts'

/** How far a message of ours got; an answer that arrives late must not move it back. */
const progress: Record<DeliveryState, number> = { sending: 0, pending: 1, failed: 1, sent: 2, seen: 3 }

function newer (old: HistoryMessage, incoming: HistoryMessage): HistoryMessage {
  if (old.state !== undefined && incoming.state !== undefined && progress[incoming.state] < progress[old.state]) {
    return { ...incoming, state: old.state }
  }
  return incoming
}

/** `existing` and `incoming` in seq order, each seq once; both may be in any order. */
export function mergeMessages (existing: readonly HistoryMessage[], incoming: readonly HistoryMessage[]): HistoryMessage[] {
  const last = existing[existing.length - 1]
  // The common case, one new message after the others: no sort.
  if (incoming.length === 1 && (last === undefined || (incoming[0] as HistoryMessage).seq > last.seq)) return [...existing, incoming[0] as HistoryMessage]
  const bySeq = new Map<number, HistoryMessage>()
  for (const m of existing) bySeq.set(m.seq, m)
  for (const m of incoming) {
    const old = bySeq.get(m.seq)
    bySeq.set(m.seq, old === undefined ? m : newer(old, m))
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq)
}

function lastActivity (c: ConversationSummary): number {
  return c.last?.sentAt ?? 0
}

/** Most recent first; conversations without messages after those with, by name. */
export function sortConversations (list: ConversationSummary[]): ConversationSummary[] {
  return [...list].sort((a, b) => lastActivity(b) - lastActivity(a) || a.name.localeCompare(b.name))
}

export function upsertConversation (list: readonly ConversationSummary[], summary: ConversationSummary): ConversationSummary[] {
  return sortConversations([...list.filter((c) => c.id !== summary.id), summary])
}
