/**
 * The peer's own state, in one LevelDB under `<dataDir>/state` (a 0700
 * directory: it holds group secrets and ratchet keys). Every change that must
 * not be half-done (a chain step and the message key it produced, a message
 * marked handled and its key deleted) is one atomic batch.
 *
 * Keys are `<groupId>/<...>` strings; values are CBOR validated with zod on
 * read (the records and their schemas: `state-records.ts`), so a damaged
 * record is an error that names it, not a crash later. What became of each
 * log entry is `statuses` (`entry-statuses.ts`); a replica's records and the
 * peer's files are kept in sections of their own (`section()`:
 * `replica-records.ts`, `file-records.ts`).
 */
import { join } from 'node:path'
import type { ClassicLevel } from 'classic-level'
import { decodeCbor, encodeCbor } from './encoding.ts'
import { EntryStatuses } from './entry-statuses.ts'
import { DataDirectoryError } from './errors.ts'
import { GroupCommit } from './group-commit.ts'
import { openPrivateLevel } from './private-level.ts'
import type { ReceiverChain, SenderChain } from './ratchet.ts'
import {
  contactRecordSchema, decodeRecord, groupRecordSchema, listenPortsSchema, receiverChainSchema, senderChainSchema, sentOnceSchema, stripUndefined,
  type ContactRecord, type GroupRecord, type StateOp, type Sublevel as Sub
} from './state-records.ts'

/**
 * Bumped when the layout changes; an older bertybot refuses a newer directory
 * instead of misreading it. 2: an entry's status may carry its author. 3: a
 * group may have several epochs (an older bertybot would send to one the
 * group has left), and records its first admin.
 */
export const STATE_FORMAT = 3

type Bytes = Uint8Array
export type { StateOp }
/** A part of the state database kept by a module of its own (`file-records.ts`, `replica-records.ts`), written in the store's batches. */
export type StateSection = Sub

export class StateStore {
  readonly #db: ClassicLevel<string, Bytes>
  readonly #meta: Sub
  readonly #groups: Sub
  readonly #chains: Sub
  readonly #messageKeys: Sub
  /** What became of each log entry: statuses, closure, entries waiting for a chain key. */
  readonly statuses: EntryStatuses
  readonly #chainKeySent: Sub
  /** `${groupId}/${key}` → the id of the message a sender sent once under that key (`sentOnce`). */
  readonly #sentOnce: Sub
  readonly #groupPeers: Sub
  /** Group peers written this session (`addGroupPeer`). */
  readonly #groupPeersWritten = new Set<string>()
  readonly #contacts: Sub
  readonly #entries: Sub
  /** Each log's heads (and, in data directories written before entries moved here, its index). */
  readonly #logs: Sub
  /** Batches waiting for the write in progress to end. */
  readonly #commits: GroupCommit<StateOp>

  private constructor (db: ClassicLevel<string, Bytes>) {
    this.#db = db
    this.#commits = new GroupCommit(async (ops) => { await db.batch(ops) })
    const sub = (name: string): Sub => this.section(name)
    this.#meta = sub('meta')
    this.#groups = sub('groups')
    this.#chains = sub('chains')
    this.#messageKeys = sub('message-keys')
    this.statuses = new EntryStatuses({ status: sub('status'), closed: sub('closed'), waiting: sub('waiting') })
    this.#chainKeySent = sub('chain-key-sent')
    this.#sentOnce = sub('sent-once')
    this.#groupPeers = sub('group-peers')
    this.#contacts = sub('contacts')
    this.#entries = sub('entries')
    this.#logs = sub('logs')
  }

  static async open (dataDir: string): Promise<StateStore> {
    return new StateStore(await openPrivateLevel(join(dataDir, 'state'), { what: 'the state database', format: STATE_FORMAT }))
  }

  /** The part of the database named `name`, for a module that keeps its own records there. */
  section (name: string): StateSection {
    return this.#db.sublevel<string, Bytes>(name, { valueEncoding: 'view' })
  }

  async close (): Promise<void> {
    await this.#commits.idle()
    await this.#db.close()
  }

  /**
   * Writes `ops` atomically. Batches asked for while one is being written are
   * written together next (group commit): each is still all or nothing, and a
   * busy peer makes one write for many messages of many groups instead of
   * several each, with no wait when it is not busy.
   */
  async batch (ops: StateOp[]): Promise<void> {
    await this.#commits.batch(ops)
  }

  /**
   * Writes `ops` with the next batch (`GroupCommit.later`): for records whose
   * loss in a crash the next start makes good, as it looks at the entry again.
   */
  async later (ops: StateOp[]): Promise<void> {
    await this.#commits.later(ops)
  }

  // Groups

  async putGroup (groupId: string, record: GroupRecord): Promise<void> {
    await this.#groups.put(groupId, encodeCbor(stripUndefined(record)))
  }

  /** Forgets a group this peer never finished joining. */
  async deleteGroup (groupId: string): Promise<void> {
    await this.#groups.del(groupId)
  }

  /**
   * Forgets a group this peer left: its record (the secrets), and, for each
   * of its epochs (`stateIds`), the chains, the keys and what became of each
   * entry. The entries themselves stay: they are sealed, and other groups' logs
   * may point to nothing of theirs.
   */
  async forgetGroup (groupId: string, stateIds: string[]): Promise<void> {
    await this.#groups.del(groupId)
    for (const id of new Set([groupId, ...stateIds])) {
      const range = { gte: `${id}/`, lt: `${id}/\xff` }
      for (const sub of [this.#chains, this.#messageKeys, this.#chainKeySent, this.#groupPeers, this.#sentOnce]) await sub.clear(range)
      await this.statuses.forget(id)
    }
  }

  async groups (): Promise<Array<{ groupId: string, record: GroupRecord }>> {
    const out: Array<{ groupId: string, record: GroupRecord }> = []
    for await (const [groupId, value] of this.#groups.iterator()) {
      const record = decodeCbor(value, groupRecordSchema, (reason) => {
        throw new DataDirectoryError(`group record ${groupId} is damaged: ${reason}`)
      })
      if (record !== undefined) out.push({ groupId, record })
    }
    return out
  }

  // Log entries (by hash: a hash names one entry of one log) and each log's heads

  async entryBytes (hash: string): Promise<Uint8Array | undefined> {
    return await this.#entries.get(hash)
  }

  async entriesBytes (hashes: string[]): Promise<Array<Uint8Array | undefined>> {
    return await this.#entries.getMany(hashes)
  }

  /** Every log entry held, whatever its log. */
  async * entries (): AsyncGenerator<{ hash: string, bytes: Uint8Array }> {
    for await (const [hash, bytes] of this.#entries.iterator()) yield { hash, bytes }
  }

  putEntryOp (hash: string, bytes: Uint8Array): StateOp {
    return { type: 'put', sublevel: this.#entries, key: hash, value: bytes }
  }

  async logHeads (address: string): Promise<Uint8Array | undefined> {
    return await this.#logs.get(`${address}/heads/heads`)
  }

  putLogHeadsOp (address: string, heads: Uint8Array): StateOp {
    return { type: 'put', sublevel: this.#logs, key: `${address}/heads/heads`, value: heads }
  }

  /** Entries joined before they were kept here: OrbitDB's index said so, and the block is in the blockstore. */
  async inLegacyIndex (address: string, hash: string): Promise<boolean> {
    return (await this.#logs.get(`${address}/index/${hash}`)) !== undefined
  }

  /** Whether a log has entries from before they were kept here (then `inLegacyIndex` is worth asking). */
  async hasLegacyIndex (address: string): Promise<boolean> {
    const prefix = `${address}/index/`
    for await (const _key of this.#logs.keys({ gte: prefix, lt: prefix + '\xff', limit: 1 })) return true
    return false
  }

  // Chains

  async ownChain (groupId: string): Promise<SenderChain | undefined> {
    const value = await this.#chains.get(`${groupId}/own`)
    if (value === undefined) return undefined
    const chain = decodeRecord(value, senderChainSchema, `own chain of ${groupId}`)
    return { chainKey: chain.ck, counter: chain.c }
  }

  putOwnChainOp (groupId: string, chain: SenderChain): StateOp {
    return { type: 'put', sublevel: this.#chains, key: `${groupId}/own`, value: encodeCbor({ ck: chain.chainKey, c: chain.counter }) }
  }

  async receiverChain (groupId: string, deviceId: string): Promise<ReceiverChain | undefined> {
    const value = await this.#chains.get(`${groupId}/device/${deviceId}`)
    if (value === undefined) return undefined
    const chain = decodeRecord(value, receiverChainSchema, `chain of device ${deviceId} in ${groupId}`)
    return { since: chain.since, chainKey: chain.ck, next: chain.next, keys: new Map(chain.keys) }
  }

  putReceiverChainOp (groupId: string, deviceId: string, chain: ReceiverChain): StateOp {
    return {
      type: 'put',
      sublevel: this.#chains,
      key: `${groupId}/device/${deviceId}`,
      value: encodeCbor({ since: chain.since, ck: chain.chainKey, next: chain.next, keys: [...chain.keys.entries()] })
    }
  }

  // Message keys of decrypted but not yet handled messages, so a restart can deliver them again.

  async messageKey (groupId: string, entryHash: string): Promise<Uint8Array | undefined> {
    return await this.#messageKeys.get(`${groupId}/${entryHash}`)
  }

  putMessageKeyOp (groupId: string, entryHash: string, messageKey: Uint8Array): StateOp {
    return { type: 'put', sublevel: this.#messageKeys, key: `${groupId}/${entryHash}`, value: messageKey }
  }

  delMessageKeyOp (groupId: string, entryHash: string): StateOp {
    return { type: 'del', sublevel: this.#messageKeys, key: `${groupId}/${entryHash}` }
  }

  // Chain keys we sent, by member

  /** The members (account ids) our chain key in the group was sealed to. */
  async chainKeySentTo (groupId: string): Promise<Set<string>> {
    const prefix = `${groupId}/`
    const members = new Set<string>()
    for await (const key of this.#chainKeySent.keys({ gte: prefix, lt: prefix + '\xff' })) members.add(key.slice(prefix.length))
    return members
  }

  chainKeySentOp (groupId: string, memberId: string): StateOp {
    return { type: 'put', sublevel: this.#chainKeySent, key: `${groupId}/${memberId}`, value: new Uint8Array() }
  }

  // Messages sent once under a key of their sender's (a durable outbox's): sent again, they are found here

  async sentOnce (groupId: string, key: string): Promise<string | undefined> {
    const value = await this.#sentOnce.get(`${groupId}/${key}`)
    return value === undefined ? undefined : decodeRecord(value, sentOnceSchema, `message sent once in ${groupId}`)
  }

  sentOnceOp (groupId: string, key: string, messageId: string): StateOp {
    return { type: 'put', sublevel: this.#sentOnce, key: `${groupId}/${key}`, value: encodeCbor(messageId) }
  }

  /** Once their sender will not ask again: with the next batch (a crash that loses it leaves a few bytes). */
  forgetSentOnce (groupId: string, keys: readonly string[]): void {
    this.later(keys.map((key) => ({ type: 'del', sublevel: this.#sentOnce, key: `${groupId}/${key}` }))).catch(() => {})
  }

  /** Drops, in every group, the records whose key starts with `keyPrefix` and is not in `keep`; resolves with how many, once written. */
  async forgetSentOnceExcept (keyPrefix: string, keep: ReadonlySet<string>): Promise<number> {
    const ops: StateOp[] = []
    for await (const stored of this.#sentOnce.keys()) {
      // A group's id has no '/': what follows the first one is the sender's key.
      const key = stored.slice(stored.indexOf('/') + 1)
      if (key.startsWith(keyPrefix) && !keep.has(key)) ops.push({ type: 'del', sublevel: this.#sentOnce, key: stored })
    }
    await this.batch(ops)
    return ops.length
  }

  // Peers seen serving a group's logs, to dial again after a restart

  async groupPeers (groupId: string): Promise<string[]> {
    const prefix = `${groupId}/`
    const peers: string[] = []
    for await (const key of this.#groupPeers.keys({ gte: prefix, lt: prefix + '\xff' })) peers.push(key.slice(prefix.length))
    return peers
  }

  /** Remembers a group's peer; written once a session (a heads exchange reports its peer each time, several a second in a big group). */
  async addGroupPeer (groupId: string, peerId: string): Promise<void> {
    const key = `${groupId}/${peerId}`
    if (this.#groupPeersWritten.has(key)) return
    this.#groupPeersWritten.add(key)
    try {
      await this.#groupPeers.put(key, new Uint8Array())
    } catch (err) {
      this.#groupPeersWritten.delete(key)
      throw err
    }
  }

  /** The ports chosen for listen addresses with port 0 (listen-ports.ts); a damaged record counts as none. */
  async listenPorts (): Promise<Record<string, number>> {
    const value = await this.#meta.get('listen-ports')
    if (value === undefined) return {}
    return decodeCbor(value, listenPortsSchema) ?? {}
  }

  async putListenPorts (ports: Record<string, number>): Promise<void> {
    await this.#meta.put('listen-ports', encodeCbor(ports))
  }

  /** The display name last given to the peer, kept so a restart without one keeps it. */
  async displayName (): Promise<string | undefined> {
    const value = await this.#meta.get('display-name')
    return value === undefined ? undefined : new TextDecoder().decode(value)
  }

  async putDisplayName (name: string): Promise<void> {
    await this.#meta.put('display-name', new TextEncoder().encode(name))
  }

  // Contacts and the rendezvous seed

  async contactSeed (): Promise<Uint8Array | undefined> {
    return await this.#meta.get('contact-seed')
  }

  async putContactSeed (seed: Uint8Array): Promise<void> {
    await this.#meta.put('contact-seed', seed)
  }

  async contacts (): Promise<Array<{ accountId: string, record: ContactRecord }>> {
    const out: Array<{ accountId: string, record: ContactRecord }> = []
    for await (const [accountId, value] of this.#contacts.iterator()) {
      out.push({ accountId, record: decodeRecord(value, contactRecordSchema, `contact ${accountId}`) })
    }
    return out
  }

  async putContact (accountId: string, record: ContactRecord): Promise<void> {
    await this.#contacts.put(accountId, encodeCbor(stripUndefined(record)))
  }
}
