/**
 * Keeps the group logs this peer has open in sync with other peers: wires
 * the parts below to gossipsub and the logs registered.
 *
 * - New entries are published on a gossipsub topic named by the log's
 *   address, one entry per message, as OrbitDB's own sync does, so a stock
 *   OrbitDB peer receives them too; each publication goes through a member
 *   drawn at random, this peer included (`entry-relay.ts`), so that the
 *   first peer to pass an entry on does not name its writer. What gossip
 *   carried to nobody (no peer on the topic yet: a newcomer whose members
 *   had not answered, a writer offline) goes to the first member that proves
 *   itself, which publishes it to its own peers. Members prove
 *   themselves to each other in the heads exchange (`member-proof.ts`).
 * - When a peer subscribes to one of our topics (or we open a log it already
 *   serves), the two swap heads (`heads-exchange.ts`; one exchange serves
 *   both) and each fetches what it lacks, in bulk (`history-transfer.ts`).
 * - Nothing is left to one gossip message: a failed heads exchange is tried
 *   again; gossipsub's outgoing streams are kept open (`gossip-streams.ts`);
 *   and a log that changed (an entry of ours, or one that came in) swaps
 *   heads with a few random peers on its topic a few times as it goes quiet
 *   (`settle-rounds.ts`), which also brings our new entries to peers gossip
 *   did not reach.
 * - A peer that does not speak our protocols (a stock OrbitDB replica) is
 *   synced with over OrbitDB's own protocol and bitswap (`stock-sync.ts`).
 *
 * Entries from the network are decoded and checked (`sync-deps.ts`) and in
 * the log's `join` (shape, log, signature); a bad one is logged and dropped,
 * never thrown.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { GossipSub } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { EventEmitter } from 'eventemitter3'
import type { CID } from 'multiformats/cid'
import { raceAbort, type AbortOptions } from './abort.ts'
import type { GroupLog } from './group-log.ts'
import { GossipStreamKeeper } from './gossip-streams.ts'
import { HEADS_PROTOCOL, HeadsExchange } from './heads-exchange.ts'
import { ENTRIES_PROTOCOL, HistoryTransfer } from './history-transfer.ts'
import { EntryRelay, type PublishPoint } from './entry-relay.ts'
import type { StoredEntry } from './log-entry.ts'
import type { Logger } from './logger.ts'
import { MemberPeers } from './member-peers.ts'
import { RELAY_PROTOCOL } from './relay-wire.ts'
import { SettleRounds } from './settle-rounds.ts'
import { StockSync } from './stock-sync.ts'
import { joinDecoded, joinReceived, type SyncDeps, type SyncLibp2p } from './sync-deps.ts'

/** Anti-entropy after a log changes (`settle-rounds.ts`): when, and with how many of its peers. */
const SETTLE_ROUNDS_MS = [2_000, 8_000, 30_000]
/** A log that keeps changing still gets a round this long after its last. */
const SETTLE_MAX_WAIT_MS = 10_000
/** How long what a received entry lacks may still be on its way by another path before it is asked for. */
const IN_FLIGHT_GRACE_MS = 50
const SETTLE_PEERS_PER_ROUND = 3
/**
 * Two peers that see each other subscribe need one heads exchange, not one
 * each: the one with the lower peer id starts it, and the other only if none
 * came within this long (the first may have failed, or not speak our protocol),
 * or at once if it waits on its first sync (`whenSynced`).
 */
const SECOND_SIDE_WAIT_MS = 2_000
/**
 * Entries of ours that gossip carried to nobody kept per log, the newest: a
 * peer that gets them fetches the ones before (each names its parents), and
 * a bot writing to a thousand groups while offline keeps a few entries each.
 */
const MAX_UNHEARD = 8

export interface LogSyncEvents {
  /** A peer swapped heads with us for `address`: it serves that log. */
  peer: (address: string, peerId: string) => void
  /**
   * A peer on the log has been given our entries up to clock time `upTo`:
   * our heads reached it (a heads exchange), or an entry of ours reached a
   * subscriber (gossip), which fetches its ancestors. An entry of ours with a
   * clock time above `upTo` was appended after, so this covers exactly ours
   * at or below it.
   */
  handedOver: (address: string, upTo: number) => void
}

export interface LogSyncOptions {
  /** Fetches a block from the network (bitswap), for peers that do not speak `ENTRIES_PROTOCOL`. */
  fetchBlock: (cid: CID, signal: AbortSignal) => Promise<Uint8Array>
}

export class LogSync extends EventEmitter<LogSyncEvents> {
  readonly #libp2p: SyncLibp2p
  readonly #logs = new Map<string, GroupLog>()
  /** Logs not yet synced with any peer since they were registered, with what waits for it (`waiting`: callers of `whenSynced`). */
  readonly #unsynced = new Map<string, { synced: Promise<void>, resolve: () => void, waiting: number }>()
  readonly #stopping = new AbortController()
  readonly #syncDeps: SyncDeps
  readonly #heads: HeadsExchange
  readonly #history: HistoryTransfer
  readonly #gossipStreams: GossipStreamKeeper
  readonly #settleRounds: SettleRounds
  /** Peers that proved they are members of a log, and the relay that publishes through them. */
  readonly #members = new MemberPeers()
  readonly #relay: EntryRelay
  /**
   * Entries of ours whose publication reached nobody (no peer on the topic
   * yet, as when joining a group whose members have not answered): handed to
   * the first member that proves itself, which publishes them to its peers.
   */
  readonly #unheard = new Map<string, StoredEntry[]>()
  /** What each registered log's 'update' runs, to take it off again. */
  readonly #onUpdate = new Map<string, () => void>()
  #started = false

  constructor (libp2p: SyncLibp2p, logger: Logger, options: LogSyncOptions) {
    super()
    this.#libp2p = libp2p
    this.#syncDeps = {
      libp2p,
      logger,
      log: (address) => this.#logs.get(address),
      running: () => this.#started,
      stopping: this.#stopping.signal
    }
    const stock = new StockSync({ ...this.#syncDeps, fetchBlock: options.fetchBlock, receive: async (log, entries, from) => { await this.#receive(log, entries, from) } })
    this.#history = new HistoryTransfer({ ...this.#syncDeps, stock })
    this.#heads = new HeadsExchange({
      ...this.#syncDeps,
      stock,
      history: this.#history,
      handedOver: (address, upTo) => { this.emit('handedOver', address, upTo) },
      serves: (address, peerId) => { this.emit('peer', address, peerId) },
      synced: (address) => {
        this.#unsynced.get(address)?.resolve()
        this.#unsynced.delete(address)
      },
      memberSeen: (address, peer) => {
        this.#members.add(address, peer)
        void this.#publishUnheard(address, peer)
      }
    })
    this.#relay = new EntryRelay({ ...this.#syncDeps, members: this.#members, receive: async (log, entries, from) => { await this.#receiveDecoded(log, entries, from) } })
    this.#gossipStreams = new GossipStreamKeeper(libp2p, logger)
    this.#settleRounds = new SettleRounds({
      delaysMs: SETTLE_ROUNDS_MS,
      peersPerRound: SETTLE_PEERS_PER_ROUND,
      maxWaitMs: SETTLE_MAX_WAIT_MS,
      peersOf: (address) => this.#pubsub.getSubscribers(address),
      exchange: (peer, addresses) => { void this.#heads.exchange(peer, addresses) }
    })
  }

  get #pubsub (): GossipSub {
    return this.#libp2p.services.pubsub
  }

  async start (): Promise<void> {
    if (this.#started) return
    this.#started = true
    await this.#libp2p.handle(HEADS_PROTOCOL, (stream, connection) => { void this.#heads.answer(stream, connection) }, { maxInboundStreams: 64 })
    await this.#libp2p.handle(ENTRIES_PROTOCOL, (stream, connection) => { void this.#history.serve(stream, connection) }, { maxInboundStreams: 32 })
    await this.#libp2p.handle(RELAY_PROTOCOL, (stream, connection) => { void this.#relay.serve(stream, connection) }, { maxInboundStreams: 32 })
    this.#libp2p.addEventListener('peer:disconnect', this.#onDisconnect)
    this.#pubsub.addEventListener('gossipsub:message', this.#onMessage)
    this.#pubsub.addEventListener('subscription-change', this.#onSubscriptionChange)
    this.#gossipStreams.start()
  }

  async stop (): Promise<void> {
    if (!this.#started) return
    this.#started = false
    this.#stopping.abort()
    this.#relay.stop()
    this.#gossipStreams.stop()
    this.#settleRounds.stop()
    this.#pubsub.removeEventListener('gossipsub:message', this.#onMessage)
    this.#pubsub.removeEventListener('subscription-change', this.#onSubscriptionChange)
    await this.#libp2p.unhandle(HEADS_PROTOCOL)
    await this.#libp2p.unhandle(ENTRIES_PROTOCOL)
    await this.#libp2p.unhandle(RELAY_PROTOCOL)
    this.#libp2p.removeEventListener('peer:disconnect', this.#onDisconnect)
    this.#members.clear()
    this.#unheard.clear()
    for (const address of this.#logs.keys()) this.#pubsub.unsubscribe(address)
    for (const [address, onUpdate] of this.#onUpdate) this.#logs.get(address)?.off('update', onUpdate)
    this.#onUpdate.clear()
    this.#logs.clear()
  }

  /** Starts syncing a log: subscribes to its topic and swaps heads with the peers already on it. */
  register (log: GroupLog): void {
    this.#logs.set(log.address, log)
    const onUpdate = (): void => { this.#settleRounds.changed(log.address) }
    this.#onUpdate.set(log.address, onUpdate)
    log.on('update', onUpdate)
    let resolve = (): void => {}
    const synced = new Promise<void>((r) => { resolve = r })
    this.#unsynced.set(log.address, { synced, resolve, waiting: 0 })
    this.#pubsub.subscribe(log.address)
    for (const peer of this.#pubsub.getSubscribers(log.address)) void this.#heads.exchange(peer, [log.address])
  }

  /**
   * Resolves once the log has swapped heads with a peer and fetched what that
   * peer had and it lacked, or after `timeoutMs` (false then: nobody answered);
   * rejects with `AbortError` if `signal` aborts first.
   */
  async whenSynced (address: string, timeoutMs: number, options: AbortOptions = {}): Promise<boolean> {
    const unsynced = this.#unsynced.get(address)
    if (unsynced === undefined) return true
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<boolean>((resolve) => { timer = setTimeout(() => { resolve(false) }, timeoutMs) })
    unsynced.waiting++
    try {
      return await raceAbort(Promise.race([unsynced.synced.then(() => true), expired]), options.signal, 'waiting for a first sync')
    } finally {
      unsynced.waiting--
      clearTimeout(timer)
    }
  }

  unregister (address: string): void {
    this.#unsynced.get(address)?.resolve()
    this.#unsynced.delete(address)
    const onUpdate = this.#onUpdate.get(address)
    if (onUpdate !== undefined) this.#logs.get(address)?.off('update', onUpdate)
    this.#onUpdate.delete(address)
    this.#settleRounds.forget(address)
    this.#members.forgetLog(address)
    this.#unheard.delete(address)
    if (!this.#logs.delete(address)) return
    if (this.#started) this.#pubsub.unsubscribe(address)
  }

  /**
   * Announces new entries of ours (appended together, in order) to the log's
   * topic, through a member drawn at random or this peer (`through` names
   * one instead). One that gossipsub could not hand to some subscriber (no
   * stream to it yet, nobody known on the topic yet) reaches it with the
   * settle rounds that the append started.
   */
  async publish (address: string, entries: StoredEntry[], through?: PublishPoint): Promise<void> {
    const log = this.#logs.get(address)
    if (!this.#started || log === undefined || entries.length === 0) return
    if (await this.#relay.publish(log, entries, through)) this.emit('handedOver', address, Math.max(...entries.map((entry) => entry.clock.time)))
    else this.#keepUnheard(address, entries)
  }

  #keepUnheard (address: string, entries: StoredEntry[]): void {
    if (!this.#logs.has(address)) return
    const kept = [...this.#unheard.get(address) ?? [], ...entries].sort((a, b) => a.clock.time - b.clock.time)
    this.#unheard.set(address, kept.slice(-MAX_UNHEARD))
  }

  /** Hands what gossip carried to nobody to `member`, which just proved itself, to publish. */
  async #publishUnheard (address: string, member: PeerId): Promise<void> {
    const entries = this.#unheard.get(address)
    const log = this.#logs.get(address)
    if (entries === undefined || log === undefined) return
    this.#unheard.delete(address)
    if (await this.#relay.publish(log, entries, member, true)) this.emit('handedOver', address, Math.max(...entries.map((entry) => entry.clock.time)))
    else this.#keepUnheard(address, entries)
  }

  /** The members a new entry of the log may be published through now (this peer aside). */
  relays (address: string): PeerId[] {
    return this.#relay.relays(address)
  }

  readonly #onSubscriptionChange = (event: CustomEvent<{ peerId: PeerId, subscriptions: Array<{ topic: string, subscribe: boolean }> }>): void => {
    const { peerId, subscriptions } = event.detail
    const addresses = subscriptions.filter((s) => s.subscribe && this.#logs.has(s.topic)).map((s) => s.topic)
    if (addresses.length === 0) return
    // A log someone waits on to sync (a newcomer about to announce itself) does not wait for the
    // other side to start: in a join storm that side is the inviter, answering a hundred at once.
    const awaited = addresses.some((address) => (this.#unsynced.get(address)?.waiting ?? 0) > 0)
    if (awaited || this.#libp2p.peerId.toString() < peerId.toString()) void this.#heads.exchange(peerId, addresses)
    else void this.#heads.exchangeUnlessAnswered(peerId, addresses, SECOND_SIDE_WAIT_MS)
  }

  readonly #onDisconnect = (event: CustomEvent<PeerId>): void => {
    this.#members.forgetPeer(event.detail.toString())
    this.#relay.forgetPeer(event.detail.toString())
  }

  readonly #onMessage = (event: CustomEvent<{ propagationSource: PeerId, msg: { topic: string, data: Uint8Array } }>): void => {
    const { propagationSource, msg } = event.detail
    const log = this.#logs.get(msg.topic)
    if (log === undefined) return
    // Messages name no author: what an entry lacks, ask the peer that passed it on (then the topic's other peers).
    void this.#receive(log, [msg.data], propagationSource)
  }

  /** Decodes entries, joins them, and asks `from` for what they are missing. */
  async #receive (log: GroupLog, entries: Uint8Array[], from: PeerId): Promise<void> {
    await joinReceived(this.#syncDeps, log, entries, from.toString())
    this.#fetchMissingSoon(log, from)
  }

  /** Joins entries decoded already (a member handed them over), and asks `from` for what they are missing. */
  async #receiveDecoded (log: GroupLog, entries: StoredEntry[], from: PeerId): Promise<void> {
    await joinDecoded(this.#syncDeps, log, entries, from.toString())
    this.#fetchMissingSoon(log, from)
  }

  /**
   * Asks `from` for what `log` still lacks a moment from now. A writer's
   * entries go out by two paths (gossip, and a relay's stream), so the next
   * may come before the one it follows, which is then usually a few
   * milliseconds behind it: fetching at once would ask for it over a stream of
   * its own while it is on its way.
   */
  #fetchMissingSoon (log: GroupLog, from: PeerId): void {
    if (log.missing().length === 0) return
    // Rejects only when the sync stops (fetchMissing logs its own failures): nothing to do then.
    sleep(IN_FLIGHT_GRACE_MS, undefined, { signal: this.#stopping.signal }).then(async () => {
      if (log.missing().length > 0) await this.#history.fetchMissing(log, [from])
    }).catch(() => {})
  }
}
