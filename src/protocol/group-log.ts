/**
 * A group log: an OrbitDB events log whose entries are signed with the
 * group's signing key. The entries, the manifest and the address are
 * OrbitDB's own, byte for byte, so a stock OrbitDB peer opening the same
 * address sees an ordinary events log of opaque bytes (and `orbitdb.open`
 * with `GroupAccessController` registered replicates it).
 *
 * The store under it is ours, because OrbitDB's `Log.joinEntry` is what a
 * busy group cannot afford: it re-reads and re-verifies the ~17 entries each
 * new entry points to, checks each of their parents in the index, decodes
 * every head on every join, and blocks the log's whole queue while it fetches
 * a missing ancestor block by block over bitswap. Here:
 *
 * - an entry is verified once (shape, then the group key's signature) and
 *   joined only when every entry it points to (`next`) is in the log (no
 *   holes, no walk to join) and its clock is past theirs (OrbitDB's rule, which
 *   a writer could break by hand; `joined-since.ts` counts on it); one that
 *   comes early waits in a bounded buffer (`waiting-entries.ts`), and `join`
 *   names what is missing, for the sync to ask a peer for it in bulk;
 * - the heads live in memory; joined entries (by hash; the blockstore serves
 *   them from there over bitswap) and the new heads are one atomic batch of
 *   the state database: the log on disk is never ahead of its entries;
 * - decoded entries are kept in one cache for the whole peer.
 *
 * Entries kept the way OrbitDB's Log does (older data directories) are still
 * read. The manifests and names that make its address are in `log-manifest.ts`.
 */
import { EventEmitter } from 'eventemitter3'
import PQueue from 'p-queue'
import { AbsentEntries } from './absent-entries.ts'
import { bytesToHex, type SigningKeyPair } from './crypto.ts'
import type { EntryCache } from './entry-cache.ts'
import { NotRunningError } from './errors.ts'
import { BoundedSet, createEntry, decodeEntry, groupPayload, isSignedBy, type EntryValue, type StoredEntry } from './log-entry.ts'
import { EntryRefs } from './entry-refs.ts'
import { JoinedSince } from './joined-since.ts'
import { decodeHeadsRecord, encodeHeadsRecord } from './log-heads-record.ts'
import { cidOf, groupLogName, storeManifests, type BlockStore } from './log-manifest.ts'
import { MemberProof } from './member-proof.ts'
import { byCausalOrder } from './log-order.ts'
import type { StateOp, StateStore } from './state-store.ts'
import { WaitingEntries } from './waiting-entries.ts'

/** What every log of a peer shares. */
export interface GroupLogDeps {
  state: StateStore
  blocks: BlockStore
  cache: EntryCache
}

export interface GroupLogEvents {
  /** Entries joined or appended, in causal order (a parent before its children). */
  update: (entries: StoredEntry[]) => void
}

/** What `join` did with what it was given. */
export interface JoinOutcome {
  /** Entries now in the log, in causal order. */
  joined: StoredEntry[]
  /** Entries refused (not of this log, not signed by the group, a clock not past its parents'), with the reason. */
  rejected: Array<{ hash: string, reason: string }>
  /** Hashes of entries the log lacks and that entries given are waiting for. */
  missing: string[]
}

interface Head { hash: string, next: string[], time: number }

export class GroupLog extends EventEmitter<GroupLogEvents> {
  /** The OrbitDB address, `/orbitdb/<manifest hash>`; also the log's gossipsub topic. */
  readonly address: string
  readonly #deps: GroupLogDeps
  /** The group's signing key (hex) every entry must be signed with. */
  readonly signingKey: string
  /** Proves to peers that this one holds the group's secret, and checks their proofs; a replica holds none. */
  readonly memberProof: MemberProof | undefined
  readonly #signing: SigningKeyPair | undefined
  readonly #heads = new Map<string, Head>()
  /** Where `refs` point. */
  readonly #refs = new EntryRefs(async (hash) => await this.get(hash))
  /** Entries waiting for an ancestor, and heads peers told us of that the log lacks. */
  readonly #waiting = new WaitingEntries()
  /** Entries joined since the log's time was last noted: which entries past it are held, without the disk. */
  readonly #joinedSince = new JoinedSince()
  /** Hashes looked up and not held, until the log takes them. */
  readonly #absent = new AbsentEntries()
  readonly #queue = new PQueue({ concurrency: 1 })
  /** Entries this peer appended, until `appendedHere` is asked about them (the last 1 024: a miss only costs a look inside). */
  readonly #appended = new BoundedSet<string>(1024)
  /** Whether entries from before they were kept in the state database may be there. */
  #legacy = false
  #closed = false

  private constructor (deps: GroupLogDeps, address: string, signing: SigningKeyPair | { publicKey: Uint8Array }) {
    super()
    this.#deps = deps
    this.address = address
    this.#signing = 'seed' in signing ? signing : undefined
    this.signingKey = bytesToHex(signing.publicKey)
    // The signing key's seed is the group's secret.
    this.memberProof = 'seed' in signing ? new MemberProof(signing.seed, address) : undefined
  }

  /**
   * Opens the log named `name` whose writers hold `signing` (a replica gives
   * the public half and can only verify). The address depends only on the
   * name and the signing key, so every member computes it without fetching.
   */
  static async open (deps: GroupLogDeps, name: string, signing: SigningKeyPair | { publicKey: Uint8Array }): Promise<GroupLog> {
    const address = await storeManifests(deps.blocks, name, bytesToHex(signing.publicKey))
    const log = new GroupLog(deps, address, signing)
    log.#legacy = await deps.state.hasLegacyIndex(address)
    await log.#loadHeads()
    log.#joinedSince.restart(log.time)
    return log
  }

  /** The hashes of the entries no other entry points to. */
  heads (): string[] {
    return [...this.#heads.keys()]
  }

  /** The largest clock time in the log: its length along the longest path. */
  get time (): number {
    let time = 0
    for (const head of this.#heads.values()) time = Math.max(time, head.time)
    return time
  }

  /** Whether an entry is in the log (joined, with all its ancestors). */
  async has (hash: string): Promise<boolean> {
    return this.#heads.has(hash) || await this.get(hash) !== undefined
  }

  /**
   * Whether the log holds the entry by what it keeps in memory (its heads,
   * the entry cache) or already waits with it: what `join` would skip, told
   * before the entry is decoded.
   */
  knows (hash: string): boolean {
    return this.#heads.has(hash) || this.#deps.cache.get(hash)?.id === this.address || this.#waiting.has(hash)
  }

  /**
   * Which of `entries` the log holds, asking the state database once for all
   * it does not know of in memory (`joined-since.ts`: what a busy log
   * receives nearly always is known new without asking).
   */
  async holds (entries: StoredEntry[]): Promise<Set<string>> {
    const held = new Set<string>()
    const unknown: string[] = []
    for (const { hash, clock } of entries) {
      const cached = this.#deps.cache.get(hash)
      const known = cached === undefined ? this.#joinedSince.holds(hash, clock.time) : cached.id === this.address
      if (this.#heads.has(hash) || known === true) held.add(hash)
      else if (known === undefined && !this.#absent.has(hash)) unknown.push(hash)
    }
    if (unknown.length === 0) return held
    const since = this.#absent.lookingUp()
    const stored = await this.#deps.state.entriesBytes(unknown)
    for (let i = 0; i < unknown.length; i++) {
      const hash = unknown[i] as string
      if (stored[i] !== undefined ? await this.get(hash) !== undefined : (this.#legacy && await this.has(hash))) held.add(hash)
      else if (stored[i] === undefined && !this.#legacy) this.#absent.notFound(hash, since)
    }
    return held
  }

  /** An entry of the log, or `undefined` if the log does not hold it. */
  async get (hash: string): Promise<StoredEntry | undefined> {
    const { cache, state, blocks } = this.#deps
    const cached = cache.get(hash)
    if (cached !== undefined) return cached.id === this.address ? cached : undefined
    if (this.#absent.has(hash)) return undefined
    const since = this.#absent.lookingUp()
    let bytes = await state.entryBytes(hash)
    if (bytes === undefined && this.#legacy && await state.inLegacyIndex(this.address, hash)) bytes = await blocks.get(cidOf(hash))
    if (bytes === undefined) {
      this.#absent.notFound(hash, since)
      return undefined
    }
    let entry: StoredEntry
    try {
      entry = await decodeEntry(bytes)
    } catch {
      return undefined
    }
    if (entry.hash !== hash) return undefined
    cache.set(entry)
    return entry.id === this.address ? entry : undefined
  }

  /**
   * Appends `values` (already sealed, with the roots of the files each one's
   * message carries), one entry each, chained in order; resolves with the
   * entries. `alongside` (or what it makes of the entries) is written in the
   * same batch, as a send's chain and files: all are on disk, or none.
   */
  async append (values: Array<Uint8Array | EntryValue>, alongside: StateOp[] | ((entries: StoredEntry[]) => StateOp[]) = []): Promise<StoredEntry[]> {
    const signing = this.#signing
    if (signing === undefined) throw new NotRunningError('this peer holds no key to write to this log')
    return await this.#queue.add(async () => {
      if (this.#closed) throw new NotRunningError(`log ${this.address} is closed`)
      const entries: StoredEntry[] = []
      let next = this.heads()
      let time = this.time
      for (const item of values) {
        const { value, files, epoch } = item instanceof Uint8Array ? { value: item, files: undefined, epoch: undefined } : item
        const entry = await createEntry(signing, { id: this.address, payload: groupPayload(value, files, epoch), next, refs: await this.#refs.of(next), time: ++time })
        entries.push(entry)
        this.#appended.add(entry.hash)
        this.#remember(entry)
        next = [entry.hash]
      }
      await this.#store(entries, typeof alongside === 'function' ? alongside(entries) : alongside)
      this.emit('update', entries)
      return entries
    })
  }

  /** True, once, for an entry this peer appended: its reader knows it is its own without opening it. */
  appendedHere (hash: string): boolean {
    return this.#appended.take(hash)
  }

  /**
   * Takes entries from the network: verifies each, joins those whose ancestors
   * are all here (in causal order, with the ones given), and keeps the others
   * until their ancestors come. Never throws for a bad entry: it is `rejected`.
   */
  async join (entries: StoredEntry[]): Promise<JoinOutcome> {
    return await this.#queue.add(async () => {
      const outcome: JoinOutcome = { joined: [], rejected: [], missing: [] }
      if (this.#closed) return outcome
      const fresh: StoredEntry[] = []
      const seen = new Set<string>()
      const held = await this.holds(entries)
      for (const entry of entries) {
        if (this.#waiting.has(entry.hash) || seen.has(entry.hash) || held.has(entry.hash)) continue
        seen.add(entry.hash)
        if (entry.id !== this.address) outcome.rejected.push({ hash: entry.hash, reason: 'belongs to another log' })
        else if (!isSignedBy(entry, this.signingKey)) outcome.rejected.push({ hash: entry.hash, reason: 'not signed by the group' })
        else fresh.push(entry)
      }
      const missing = new Set<string>()
      const ready = new Set<string>()
      const consider = async (entry: StoredEntry): Promise<void> => {
        const absent: string[] = []
        for (const parent of entry.next) {
          if (!ready.has(parent) && !await this.has(parent)) absent.push(parent)
        }
        if (absent.length === 0) {
          this.#waiting.joined(entry.hash)
          // Every entry's clock is past its parents' (OrbitDB's rule): what `holds` counts on.
          if (!await this.#clockPastParents(entry)) {
            outcome.rejected.push({ hash: entry.hash, reason: 'its clock is not past its parents\'' })
            return
          }
          ready.add(entry.hash)
          outcome.joined.push(entry)
          this.#remember(entry)
          // Its children that were waiting for it may be complete now.
          for (const waiting of this.#waiting.childrenOf(entry.hash)) await consider(waiting)
          return
        }
        this.#waiting.wait(entry, absent)
        for (const hash of absent) missing.add(hash)
      }
      for (const entry of fresh.sort(byCausalOrder)) await consider(entry)
      for (const hash of ready) missing.delete(hash)
      for (const hash of missing) if (!this.#waiting.has(hash)) outcome.missing.push(hash)
      if (outcome.joined.length > 0) {
        await this.#store(outcome.joined)
        this.emit('update', outcome.joined)
      }
      return outcome
    })
  }

  /** Hashes some waiting entry still lacks, and heads peers have that this log lacks: what to ask peers for. */
  missing (): string[] {
    return this.#waiting.missing()
  }

  /** Notes heads a peer has; resolves with how many of them this log lacks. */
  async want (hashes: string[]): Promise<number> {
    return await this.#waiting.want(hashes, async (hash) => await this.has(hash))
  }

  /** Forgets the heads peers told of and nobody could give: they come again with the next exchange. */
  unwant (): void {
    this.#waiting.unwant()
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#queue.onIdle()
    this.#waiting.clear()
    this.removeAllListeners()
  }

  // Internals

  async #loadHeads (): Promise<void> {
    const stored = await this.#deps.state.logHeads(this.address)
    for (const hash of stored === undefined ? [] : decodeHeadsRecord(stored) ?? []) {
      const entry = await this.get(hash)
      if (entry !== undefined) this.#heads.set(hash, { hash, next: entry.next, time: entry.clock.time })
    }
  }

  /** Whether `entry`'s clock is past each of its parents' (all in the log, or joined in this batch and remembered). */
  async #clockPastParents (entry: StoredEntry): Promise<boolean> {
    for (const parent of entry.next) {
      const time = this.#heads.get(parent)?.time ?? (await this.get(parent))?.clock.time
      if (time === undefined || time >= entry.clock.time) return false
    }
    return true
  }

  /** Updates the heads with an entry whose parents are all in the log. */
  #remember (entry: StoredEntry): void {
    for (const parent of entry.next) this.#heads.delete(parent)
    this.#heads.set(entry.hash, { hash: entry.hash, next: entry.next, time: entry.clock.time })
    this.#deps.cache.set(entry)
    this.#joinedSince.joined(entry.hash, entry.clock.time, () => this.time)
    this.#absent.taken(entry.hash)
  }

  /** Writes joined or appended entries and the heads they make, atomically, with `alongside`. */
  async #store (entries: StoredEntry[], alongside: StateOp[] = []): Promise<void> {
    const { state } = this.#deps
    const ops: StateOp[] = entries.map((entry) => state.putEntryOp(entry.hash, entry.bytes))
    ops.push(state.putLogHeadsOp(this.address, encodeHeadsRecord(this.#heads.values())), ...alongside)
    await state.batch(ops)
    // Only now can a read find them: a look-up that ran meanwhile and found nothing is out of date.
    for (const entry of entries) this.#absent.taken(entry.hash)
  }
}

/**
 * Opens a group's two logs. Their names and access controller depend only on
 * the group key and the signing key, so every member and replica computes the
 * same addresses without fetching anything.
 */
export async function openGroupLogs (deps: GroupLogDeps, options: { groupKey: Uint8Array, signing: SigningKeyPair | { publicKey: Uint8Array } }): Promise<{ metadata: GroupLog, messages: GroupLog }> {
  const open = async (kind: 'metadata' | 'messages'): Promise<GroupLog> => await GroupLog.open(deps, groupLogName(options.groupKey, kind), options.signing)
  const [metadata, messages] = await Promise.all([open('metadata'), open('messages')])
  return { metadata, messages }
}
