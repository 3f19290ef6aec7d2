/**
 * Where a dialogue under way is kept: one record per person and
 * conversation, in the bot store's state under a scope of its own, read and
 * written through the transaction of the event being handled. So a step's
 * record is committed with the message it answers, the question it queues,
 * and the mark that the message was handled: all of them, or none.
 *
 * A record is read back through its schema: a damaged one is dropped with a
 * log line, never handed to a dialogue.
 */
import { z } from 'zod'
import type { Logger } from '../protocol/index.ts'
import type { Transaction } from './transaction.ts'

/** The state scope of dialogue records (`_bot` is the bot's own; conversations are group ids). */
export const DIALOGUE_SCOPE = '_dialogues'

const RECORD_VERSION = 1

/** A step the dialogue's function took, in order: what a replay gives back in its place. */
const stepSchema = z.discriminatedUnion('kind', [
  /** A question answered: the answer as the person typed it (its schema reads it again on replay). */
  z.object({ kind: z.literal('ask'), answer: z.string() }),
  /** A message sent: not sent again. */
  z.object({ kind: z.literal('reply') }),
  /** `external(fn)`: what fn resolved with (as JSON; absent for undefined), or the message of what it threw. */
  z.object({ kind: z.literal('external'), value: z.json().optional(), error: z.string().optional() })
])

export type Step = z.infer<typeof stepSchema>

const recordSchema = z.object({
  v: z.literal(RECORD_VERSION),
  /** The dialogue's name, as registered. */
  name: z.string(),
  /** Conversation (group id) and person (account id): also the record's key, kept here for the timeout's message. */
  group: z.string(),
  user: z.string(),
  /** What `enter()` was given, as JSON. */
  input: z.json().optional(),
  steps: z.array(stepSchema),
  /** The question waiting for an answer (asked again after a failed step). */
  question: z.string(),
  /** When it times out, on the bot's clock (ms). */
  deadline: z.number(),
  startedAt: z.number()
})

export type DialogueRecord = Omit<z.infer<typeof recordSchema>, 'v'>

/** The key of the record of `user`'s dialogue in `group`. */
export function recordKey (group: string, user: string): string {
  return `${group}/${user}`
}

/** Checks a stored value; undefined (with a log line) if it is not a record. */
export function parseRecord (value: unknown, key: string, log: Logger): DialogueRecord | undefined {
  const parsed = recordSchema.safeParse(value)
  if (parsed.success) {
    const { v: _v, ...record } = parsed.data
    return record
  }
  log.warn({ dialogue: key, problem: parsed.error.issues[0]?.message }, 'a damaged dialogue record is dropped')
  return undefined
}

/** The record under `key`, through `tx`; a damaged one is deleted in `tx` and reads as none. */
export async function readRecord (tx: Transaction, key: string, log: Logger): Promise<DialogueRecord | undefined> {
  const value = await tx.get(DIALOGUE_SCOPE, key)
  if (value === undefined) return undefined
  const record = parseRecord(value, key, log)
  if (record === undefined) tx.delete(DIALOGUE_SCOPE, key)
  return record
}

export function writeRecord (tx: Transaction, key: string, record: DialogueRecord): void {
  tx.set(DIALOGUE_SCOPE, key, { v: RECORD_VERSION, ...record })
}

export function deleteRecord (tx: Transaction, key: string): void {
  tx.delete(DIALOGUE_SCOPE, key)
}
