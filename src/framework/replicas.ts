/**
 * Keeps every conversation of the bot registered with the replicas of its
 * configuration, so that they serve its messages while it is down. Each
 * (group, replica) pair is registered once and remembered in the store.
 * It looks again whenever the bot may be in a new conversation (after each
 * commit: a handler may have created or joined a group), and retries what
 * failed a little later.
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
  /** How many conversations there were when the last pass began; -1 forces a pass. */
  #groupsSeen = -1
  #pass: Promise<void> | undefined
  #again = false
  #retry: NodeJS.Timeout | undefined
  #stopped = false

  constructor (options: { peer: Peer, store: BotStore, replicas: string[], logger: Logger }) {
    this.#peer = options.peer
    this.#store = options.store
    this.#replicas = options.replicas
    this.#logger = options.logger
  }

  /** Registers what is not registered yet, if the bot's conversations changed since the last look. */
  check (): void {
    if (this.#stopped || this.#replicas.length === 0 || this.#peer.groups().length === this.#groupsSeen) return
    if (this.#pass !== undefined) {
      this.#again = true
      return
    }
    this.#pass = this.#register().catch((err: unknown) => {
      this.#logger.error({ err }, 'registering conversations with the replicas failed')
    }).finally(() => {
      this.#pass = undefined
      if (this.#again) {
        this.#again = false
        this.check()
      }
    })
  }

  /** Stops retrying, and waits for a pass under way. */
  async stop (): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#retry)
    await this.#pass
  }

  async #register (): Promise<void> {
    this.#groupsSeen = this.#peer.groups().length
    let failed = false
    for (const group of this.#peer.groups()) {
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
      this.#groupsSeen = -1
      clearTimeout(this.#retry)
      this.#retry = setTimeout(() => { this.check() }, RETRY_MS).unref()
    }
  }
}
