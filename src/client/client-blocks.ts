/**
 * Blocking, as a person's client offers it (`client.blocks`): block an
 * account given by id or contact link, unblock it, list the blocked ones
 * with a name to show. What a block means is in `blocked-accounts.ts`.
 */
import { accountSchema } from '../framework/index.ts'
import type { Peer } from '../protocol/index.ts'
import type { BlockedAccounts } from './blocked-accounts.ts'
import { ClientError } from './client-errors.ts'
import { nameOf } from './views.ts'

/** A blocked account as the clients show it. */
export interface BlockedView {
  account: string
  name: string
  /** Milliseconds since 1970. */
  since: number
}

export interface ClientBlocksDeps {
  peer: Peer
  blocked: BlockedAccounts
  now: () => number
  /**
   * Runs a change after the events the peer gave before it: an event that
   * came before a block (or an unblock) is judged without it.
   */
  inOrder: <T>(change: () => Promise<T>) => Promise<T>
  /** The blocked accounts changed (and so may the contact requests listed). */
  changed: () => void
}

export class ClientBlocks {
  readonly #deps: ClientBlocksDeps

  constructor (deps: ClientBlocksDeps) {
    this.#deps = deps
  }

  /** Every blocked account, the most recently blocked first. */
  list (): BlockedView[] {
    const { peer, blocked } = this.#deps
    return blocked.list().map((b) => ({ account: b.account, name: nameOf(peer, b.account, b.name), since: b.since }))
  }

  has (account: string): boolean {
    return this.#deps.blocked.has(account)
  }

  /**
   * Blocks `account` (an account id or a contact link); `name` is what the
   * person saw it called, kept for the list. Blocking it again changes nothing.
   */
  async block (account: string, name?: string): Promise<BlockedView> {
    const id = parseAccount(account)
    if (id === this.#deps.peer.accountId) throw new ClientError('ERR_BLOCK_SELF', 'you cannot block yourself')
    await this.#deps.inOrder(async () => await this.#deps.blocked.block(id, this.#deps.now(), name === '' ? undefined : name))
    this.#deps.changed()
    const view = this.list().find((b) => b.account === id)
    if (view === undefined) throw new Error('a block just written is missing')
    return view
  }

  /** Unblocks `account` (an account id or a contact link): what it sends from now on is shown. Not blocked, nothing changes. */
  async unblock (account: string): Promise<void> {
    const id = parseAccount(account)
    if (await this.#deps.inOrder(async () => await this.#deps.blocked.unblock(id))) this.#deps.changed()
  }
}

function parseAccount (account: string): string {
  const parsed = accountSchema.safeParse(account)
  if (parsed.success) return parsed.data
  throw new ClientError('ERR_INVALID_ACCOUNT', parsed.error.issues[0]?.message ?? 'not an account id nor a contact link')
}
