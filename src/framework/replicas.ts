/**
 * Keeps every conversation of the bot registered with the replicas of its
 * configuration, so that they serve its messages while it is down. Each
 * (group, replica) pair is registered once and remembered in the store. At
 * start it looks at every conversation; then at each group the peer opens
 * (`groupOpened`: created, joined, a new contact); what failed is tried again
 * a little later.
 */
import type { Logger, Peer } from '../protocol/index.ts'
import type { BotStore } from './store.ts'

/** How long a registration that failed (the replica unreachable) waits before it is tried again. */
const RETRY_MS = 30_000

export class ReplicaKeeper {
  readonly #peer: Peer
  readonly #store: BotStore
  readonly #replicas: string[]
  readonly #logger: Logger
  /** Groups to look at in the next pass; `all` for every one. */
  #wanted: Set<string> | 'all' = 'all'
  #pass: Promise<void> | undefined
  #retry: NodeJS.Timeout | undefined
  #stopped = false
  readonly #onGroupOpened = ({ group }: { group: { id: string } }): void => { this.#want(group.id) }

  constructor (options: { peer: Peer, store: BotStore, replicas: string[], logger: Logger }) {
    this.#peer = options.peer
    this.#store = options.store
    this.#replicas = options.replicas
    this.#logger = options.logger
  }

  /** Registers what is not registered yet, then each group as it opens. */
  start (): void {
    if (this.#replicas.length === 0) return
    this.#peer.on('groupOpened', this.#onGroupOpened)
    this.#want('all')
  }

  /** Stops listening and retrying, and waits for a pass under way. */
  async stop (): Promise<void> {
    this.#stopped = true
    this.#peer.off('groupOpened', this.#onGroupOpened)
    clearTimeout(this.#retry)
    await this.#pass
  }

  /** Looks at `group` (or at every group) in a pass: now, or once the pass under way ends. */
  #want (group: string | 'all'): void {
    if (this.#stopped) return
    if (group === 'all') this.#wanted = 'all'
    else if (this.#wanted !== 'all') this.#wanted.add(group)
    this.#runPass()
  }

  #runPass (): void {
    const wanted = this.#wanted
    if (this.#pass !== undefined || this.#stopped || (wanted !== 'all' && wanted.size === 0)) return
    this.#wanted = new Set()
    this.#pass = this.#register(wanted).catch((err: unknown) => {
      this.#logger.error({ err }, 'registering conversations with the replicas failed')
    }).finally(() => {
      this.#pass = undefined
      this.#runPass()
    })
  }

  async #register (wanted: Set<string> | 'all'): Promise<void> {
    const groups = wanted === 'all' ? this.#peer.groups() : [...wanted].flatMap((id) => this.#peer.group(id) ?? [])
    let failed = false
    for (const group of groups) {
      for (const link of this.#replicas) {
        if (this.#stopped || await this.#store.isReplicated(group.id, link)) continue
        try {
          await group.addReplica(link)
          await this.#store.setReplicated(group.id, link)
        } catch (err) {
          failed = true
          this.#logger.warn({ err, group: group.id }, `could not register a group with a replica; trying again in ${RETRY_MS / 1000} s`)
        }
      }
    }
    if (failed && !this.#stopped) {
      clearTimeout(this.#retry)
      this.#retry = setTimeout(() => { this.#want('all') }, RETRY_MS).unref()
    }
  }
}
