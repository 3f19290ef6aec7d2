/**
 * A replica: an always-on peer that keeps the encrypted logs of the groups
 * members ask it to keep, and serves them to any member that comes back,
 * even when every other member is away (WESH.md §2.8). It holds, per group,
 * the group key, the public signing key and the link key: enough to verify
 * and store entries, not to read or write them. The files message entries
 * name it keeps too, blocks it cannot open (`file-keeper.ts`). It is told no
 * account: a member proves it is one with the group's signing key
 * (`replication.ts`), and nothing it stores or logs names who asked.
 *
 * ```ts
 * const replica = await createReplica({ dataDir: './replica', listen: ['/ip4/0.0.0.0/tcp/4001'] })
 * console.log(replica.link())           // members run group.addReplica(link)
 * ```
 */
import type { Stream } from '@libp2p/interface'
import { EventEmitter } from 'eventemitter3'
import { z } from 'zod'
import { randomBytes } from './crypto.ts'
import { keyToId } from './encoding.ts'
import { InvalidOptionError } from './errors.ts'
import { FileKeeper } from './file-keeper.ts'
import { DEFAULT_MAX_FILE_SIZE } from './file-reference.ts'
import { EpochFollower } from './epoch-follower.ts'
import { openGroupLogs, type GroupLog, type GroupLogDeps } from './group-log.ts'
import { recentEntries } from './log-order.ts'
import { withPeerStack } from './peer-stack.ts'
import type { IdentityKeys } from './keystore.ts'
import type { LogSync } from './log-sync.ts'
import { defaultLogger, namespaced, type Logger } from './logger.ts'
import type { DhtMode, Node } from './node.ts'
import { DEFAULT_LISTEN } from './peer-options.ts'
import { groupRendezvousCid } from './rendezvous.ts'
import { ReplicaRecords, type KeptGroup } from './replica-records.ts'
import { answerReplication, encodeReplicaLink, LEGACY_REPLICATION_PROTOCOL, REPLICATION_PROTOCOL } from './replication.ts'
import type { StateStore } from './state-store.ts'

export interface ReplicaOptions {
  dataDir: string
  /** Where to listen; loopback by default. A replica others reach needs a reachable, fixed address. */
  listen?: string[]
  /** Addresses to put in the replica's link instead of the listening ones. */
  announce?: string[]
  bootstrap?: string[]
  /** Find peers on the local network with mDNS (it announces the replica there). Off by default. */
  mdns?: boolean
  dht?: DhtMode
  /** The largest file whose blocks it keeps, in bytes (as a peer's `maxFileSize`): 25 MiB by default. */
  maxFileSize?: number
  logger?: Logger
}

export interface ReplicaEvents {
  /** A group was added (now, or again at start); `follows`: the epoch whose log pointed to this one, for a group's next epoch. */
  group: (group: { id: string, logAddresses: { metadata: string, messages: string }, follows?: string }) => void
  /** An entry was stored for a group. */
  entry: (entry: { group: string, log: 'metadata' | 'messages', hash: string }) => void
  /** Every block of a file a message entry named is here. */
  file: (file: { group: string, root: string }) => void
}

export async function createReplica (options: ReplicaOptions): Promise<Replica> {
  const logger = namespaced(options.logger ?? defaultLogger(), 'protocol:replica')
  const nodeOptions = {
    dataDir: options.dataDir,
    listen: options.listen ?? DEFAULT_LISTEN,
    announce: options.announce ?? [],
    bootstrap: options.bootstrap ?? [],
    relay: { client: false, server: false },
    mdns: options.mdns === true,
    dht: options.dht ?? 'lan'
  }
  const maxFileSize = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).safeParse(options.maxFileSize ?? DEFAULT_MAX_FILE_SIZE)
  if (!maxFileSize.success) throw new InvalidOptionError('maxFileSize is a whole number of bytes')
  return await withPeerStack(nodeOptions, logger, async ({ identity, state, node, logs, sync }) => {
    const replica = new Replica({ identity, state, node, logs, sync, logger, maxFileSize: maxFileSize.data })
    await replica.start()
    return replica
  })
}

interface ReplicaDeps {
  identity: IdentityKeys
  state: StateStore
  node: Node
  logs: GroupLogDeps
  sync: LogSync
  logger: Logger
  maxFileSize: number
}

export class Replica extends EventEmitter<ReplicaEvents> {
  readonly peerId: string
  readonly #deps: ReplicaDeps
  readonly #groups = new Map<string, { metadata: GroupLog, messages: GroupLog, follows: string | undefined }>()
  readonly #stopping = new AbortController()
  readonly #records: ReplicaRecords
  /** Fetches and keeps the files message entries name. */
  readonly #files: FileKeeper
  /** Follows groups to their next epochs. */
  readonly #epochs: EpochFollower
  #token!: Uint8Array

  constructor (deps: ReplicaDeps) {
    super()
    this.#deps = deps
    this.peerId = deps.node.libp2p.peerId.toString()
    this.#records = new ReplicaRecords(deps.state)
    this.#files = new FileKeeper({
      records: this.#records,
      network: deps.node.helia.blockstore,
      maxFileSize: deps.maxFileSize,
      logger: namespaced(deps.logger, 'protocol:replica:files'),
      now: Date.now,
      onKept: (file) => { this.emit('file', file) }
    })
    this.#epochs = new EpochFollower({
      keeps: (pk) => this.#groups.has(keyToId(pk)),
      keep: async (group) => {
        await this.#records.putGroup(group)
        await this.#open(group)
      },
      logger: deps.logger
    })
  }

  get multiaddrs (): string[] {
    return this.#deps.node.libp2p.getMultiaddrs().map((a) => a.toString())
  }

  /** The link members give `group.addReplica()`. It carries an access token: share it with members only. */
  link (): string {
    return encodeReplicaLink(this.#deps.identity.account, this.#token, this.multiaddrs)
  }

  /** The groups this replica keeps (a group's later epochs each on their own, with the epoch they follow). */
  groups (): Array<{ id: string, logAddresses: { metadata: string, messages: string }, follows?: string }> {
    return [...this.#groups].map(([id, logs]) => ({ id, logAddresses: { metadata: logs.metadata.address, messages: logs.messages.address }, ...(logs.follows === undefined ? {} : { follows: logs.follows }) }))
  }

  /** @internal Opens the groups kept so far and starts taking requests; called once by `createReplica`. */
  async start (): Promise<void> {
    const { node } = this.#deps
    let token = await this.#records.token()
    if (token === undefined) {
      token = randomBytes(32)
      await this.#records.putToken(token)
    }
    this.#token = token
    for (const group of await this.#records.groups()) await this.#open(group)
    await this.#files.start()
    await node.libp2p.handle(REPLICATION_PROTOCOL, (stream) => { void this.#answer(stream, REPLICATION_PROTOCOL) }, { maxInboundStreams: 16 })
    // Members of earlier builds ask with their account: still served, and the account is dropped.
    await node.libp2p.handle(LEGACY_REPLICATION_PROTOCOL, (stream) => { void this.#answer(stream, LEGACY_REPLICATION_PROTOCOL) }, { maxInboundStreams: 16 })
  }

  async stop (): Promise<void> {
    if (this.#stopping.signal.aborted) return
    this.#stopping.abort()
    const { node, sync, state } = this.#deps
    await node.libp2p.unhandle(REPLICATION_PROTOCOL).catch(() => {})
    await node.libp2p.unhandle(LEGACY_REPLICATION_PROTOCOL).catch(() => {})
    await this.#files.stop()
    for (const logs of this.#groups.values()) {
      for (const log of [logs.metadata, logs.messages]) {
        sync.unregister(log.address)
        await log.close()
      }
    }
    this.#groups.clear()
    await sync.stop()
    await node.stop()
    await state.close()
  }

  async #answer (stream: Stream, protocol: string): Promise<void> {
    const signal = AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(15_000)])
    try {
      await answerReplication(stream, {
        protocol,
        replicaKey: this.#deps.identity.account.publicKey,
        token: this.#token,
        signal,
        accept: async (group) => {
          if (this.#stopping.signal.aborted) throw new Error('the replica is stopping')
          await this.#records.putGroup(group)
          await this.#open(group)
          this.#deps.logger.info({ group: keyToId(group.pk) }, 'keeping a group\'s logs')
        }
      })
      await stream.close({ signal }).catch(() => {})
    } catch (err) {
      stream.abort(err as Error)
      this.#deps.logger.debug({ err: (err as Error).message }, 'replication request failed')
    }
  }

  async #open (group: KeptGroup): Promise<void> {
    const id = keyToId(group.pk)
    if (this.#groups.has(id)) return
    const { node, sync, logger } = this.#deps
    const logs = await openGroupLogs(this.#deps.logs, { groupKey: group.pk, signing: { publicKey: group.signPub } })
    const follows = group.follows === undefined ? undefined : keyToId(group.follows)
    this.#groups.set(id, { ...logs, follows })
    const follow = (entries: Iterable<{ payload: unknown }>): void => {
      this.#epochs.take(group, entries).catch((err: unknown) => { logger.warn({ err, group: id }, 'could not follow a group to its next epoch') })
    }
    logs.metadata.on('update', follow)
    // A pointer taken before a crash, and its epoch not recorded yet: the log has it still.
    const held: Array<{ payload: unknown }> = []
    for await (const entry of recentEntries(logs.metadata, Number.MAX_SAFE_INTEGER)) held.push(entry)
    follow(held)
    for (const [log, db] of [['metadata', logs.metadata], ['messages', logs.messages]] as const) {
      db.on('update', (entries) => { for (const entry of entries) this.emit('entry', { group: id, log, hash: entry.hash }) })
      sync.register(db)
    }
    logs.messages.on('update', (entries) => { this.#files.take(id, entries) })
    this.emit('group', { id, logAddresses: { metadata: logs.metadata.address, messages: logs.messages.address }, ...(follows === undefined ? {} : { follows }) })
    // Members of the group look for this key when none of them is reachable.
    if (node.libp2p.services.dht !== undefined) {
      node.libp2p.contentRouting.provide(await groupRendezvousCid(group.linkKey), { signal: this.#stopping.signal })
        .catch((err: unknown) => { logger.debug({ err: (err as Error).message }, 'could not provide a group rendezvous yet') })
    }
  }
}
