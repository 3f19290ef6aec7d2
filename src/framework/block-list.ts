/**
 * The accounts a bot ignores (`bot.block(account)`), kept in the bot store's
 * state under a scope of their own, one record per account, written through
 * a transaction as any handler's state is: a block survives a restart and a
 * crash, and one made while an event is handled counts either before that
 * event or after it, never half.
 *
 * The handler runner asks here for every event, before any middleware: an
 * event of a blocked account is dropped there, in every conversation.
 */
import { z } from 'zod'
import { accountSchema } from './accounts.ts'
import { InvalidAccountError } from './errors.ts'
import type { BotStore } from './store.ts'
import type { Transaction } from './transaction.ts'

/** The state scope of block records (`_bot` is the bot's own; conversations are group ids). */
export const BLOCK_SCOPE = '_blocked'

const RECORD_VERSION = 1

const recordSchema = z.object({ v: z.literal(RECORD_VERSION), since: z.number() })

/** A blocked account, and since when (on the bot's clock). */
export interface BlockedAccount {
  readonly account: string
  readonly since: Date
}

/** The account id of `account` (an account id or a contact link); `InvalidAccountError` for anything else. */
export function parseAccount (account: unknown): string {
  const parsed = accountSchema.safeParse(account)
  if (parsed.success) return parsed.data
  throw new InvalidAccountError(parsed.error.issues[0]?.message ?? 'not an account id')
}

/** Blocks `account` in `tx`; a block already there keeps its date. */
export async function block (tx: Transaction, account: string, now: number): Promise<void> {
  if (await tx.get(BLOCK_SCOPE, account) !== undefined) return
  tx.set(BLOCK_SCOPE, account, { v: RECORD_VERSION, since: now })
}

export function unblock (tx: Transaction, account: string): void {
  tx.delete(BLOCK_SCOPE, account)
}

/**
 * Whether `account` is blocked now: from the store's memory of the block
 * records' keys, as it is asked at every event. A damaged record still blocks
 * (and is listed with the date 0): a block is not lifted by accident.
 */
export async function isBlocked (store: Pick<BotStore, 'stateKeys'>, account: string): Promise<boolean> {
  return (await store.stateKeys(BLOCK_SCOPE)).has(account)
}

/** The accounts blocked, with since when; a damaged record is listed with the date 0. */
export async function blockedAccounts (store: Pick<BotStore, 'stateOf'>): Promise<BlockedAccount[]> {
  return (await store.stateOf(BLOCK_SCOPE)).map(([account, value]) => {
    const parsed = recordSchema.safeParse(value)
    return { account, since: new Date(parsed.success ? parsed.data.since : 0) }
  })
}
