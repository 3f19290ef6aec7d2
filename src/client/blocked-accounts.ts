/**
 * The accounts the person blocked, kept in the client's store, one record
 * `b!<account>` each, and in memory for the checks made on every event.
 *
 * What a block means, as the bot's (`bot.block`): nothing the account sends
 * from then on is written into the history, in its 1:1 conversation and in
 * every group (messages, invitations, reactions, edits, deletions, presses,
 * acknowledgements), so nothing of it is shown nor counted as unread; its
 * contact request is not listed, and stays pending in the peer. What was
 * written before the block stays. Unblocking shows what it sends from then
 * on, and its request still pending; what came while it was blocked is not
 * shown later: the history is written in the order things arrive, and what
 * the person chose not to hear is not brought back into it afterwards.
 */
import { z } from 'zod'
import type { Logger, PrivateLevel } from '../protocol/index.ts'
import { decodeRecord, encodeRecord } from './history-records.ts'

const RECORD_VERSION = 1

/** `name`: what the person saw the account called when they blocked it (a group member may be no contact). */
const recordSchema = z.object({ v: z.literal(RECORD_VERSION), since: z.number().int().nonnegative(), name: z.string().max(200).optional() })

const blockKey = (account: string): string => `b!${account}`

/** A blocked account, since when (milliseconds since 1970), and the name it had then, if known. */
export interface BlockedAccount {
  readonly account: string
  readonly since: number
  readonly name?: string
}

export class BlockedAccounts {
  readonly #db: PrivateLevel
  readonly #blocked = new Map<string, BlockedAccount>()

  private constructor (db: PrivateLevel) {
    this.#db = db
  }

  /** Reads every block; a damaged record still blocks, dated 0 (with a log line): a block is not lifted by accident. */
  static async load (db: PrivateLevel, logger: Logger): Promise<BlockedAccounts> {
    const blocked = new BlockedAccounts(db)
    for await (const [key, value] of db.iterator({ gt: 'b!', lt: 'b"' })) {
      const account = key.slice(2)
      const record = decodeRecord(recordSchema, value, key, logger)
      if (record === undefined) logger.warn({ account }, 'a damaged block record: the account stays blocked')
      blocked.#blocked.set(account, { account, since: record?.since ?? 0, ...(record?.name === undefined ? {} : { name: record.name }) })
    }
    return blocked
  }

  has (account: string): boolean {
    return this.#blocked.has(account)
  }

  /** Every blocked account, the most recently blocked first. */
  list (): BlockedAccount[] {
    return [...this.#blocked.values()].sort((a, b) => b.since - a.since)
  }

  /** Blocks `account` (an account id); one already blocked keeps its date and name. */
  async block (account: string, now: number, name: string | undefined): Promise<BlockedAccount> {
    const known = this.#blocked.get(account)
    if (known !== undefined) return known
    const record = { v: RECORD_VERSION, since: now, ...(name === undefined ? {} : { name: name.slice(0, 200) }) }
    await this.#db.put(blockKey(account), encodeRecord(record))
    const blocked = { account, since: now, ...(record.name === undefined ? {} : { name: record.name }) }
    this.#blocked.set(account, blocked)
    return blocked
  }

  /** Returns whether it was blocked. */
  async unblock (account: string): Promise<boolean> {
    if (!this.#blocked.has(account)) return false
    await this.#db.del(blockKey(account))
    this.#blocked.delete(account)
    return true
  }
}
