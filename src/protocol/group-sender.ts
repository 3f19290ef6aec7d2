/**
 * What this device writes to a group: its own chain (WESH.md §2.4), the
 * messages sealed with it, and the metadata entries it posts. One task at a
 * time, in order: the chain moves on by each message exactly once, and a
 * member who joined since our last message gets our chain key (sealed to it)
 * in the headers of the next message, the first it needs it for.
 */
import PQueue from 'p-queue'
import { abortableUntilCommit } from './abort.ts'
import { AppMessageType, encodeAppMessage, encodeOwnAppMessage, filesOf, type AppMessageInput } from './app-messages.ts'
import { equalBytes, sha256 } from './crypto.ts'
import { keyToId } from './encoding.ts'
import { MetadataEventType, sealChainKeys, sealMessage, sealMetadataEvent, signMemberDevice, type MetadataEventTypeNumber, type SealedChainKeys } from './envelope.ts'
import { InvalidOptionError, NotRunningError } from './errors.ts'
import type { FileStore } from './file-store.ts'
import type { GroupKeys } from './group-keys.ts'
import type { GroupLog } from './group-log.ts'
import { recentEntries } from './log-order.ts'
import { SendBatches } from './send-batches.ts'
import type { SealedMessage, SendOnce } from './handles.ts'
import type { IdentityKeys } from './keystore.ts'
import type { StoredEntry } from './log-entry.ts'
import type { LogSync } from './log-sync.ts'
import type { Membership } from './membership.ts'
import { OwnChain } from './own-chain.ts'
import type { StateOp, StateStore } from './state-store.ts'

/** How far back `sendSealedMany` looks for the same message already sent. */
const RESEND_LOOKBACK = 256
/** The longest key a send once may have (`SendOnce`). */
const MAX_ONCE_KEY = 256
/** Messages sent at once together at most (`send`): a share of what one hand-over to a relay takes. */
const MAX_SEND_BATCH = 64

/** A message `send` queued, and the commit that takes it out of reach of its abort. */
interface QueuedSend { plaintext: Uint8Array, files: string[] | undefined, once: SendOnce | undefined, commit: () => void }

export interface GroupSenderDeps {
  /** The group's id, as sealed messages name it. */
  groupId: string
  /** Where this epoch's chain is kept: the epoch's id. */
  stateId: string
  keys: GroupKeys
  identity: IdentityKeys
  state: StateStore
  sync: LogSync
  membership: Membership
  metadata: GroupLog
  messages: GroupLog
  /** Contact groups: the other account's public key (known before it shows up on the log). */
  contactKey: Uint8Array | undefined
  /** The name this device goes by, if it has one. */
  displayName: string | undefined
  /** The peer's clock. */
  now: () => number
  /** True once the group is closed: nothing more is sealed. */
  closed: () => boolean
  /** The files stored and staged: a message carrying them commits them. */
  files: Pick<FileStore, 'unstaging'>
}

export class GroupSender {
  readonly #deps: GroupSenderDeps
  readonly #queue = new PQueue({ concurrency: 1 })
  readonly #sends = new SendBatches<QueuedSend, string>(this.#queue, MAX_SEND_BATCH, async (sends) => await this.#sendTogether(sends))
  /** Our chain, stored ahead of its use (only queued tasks move it on). */
  readonly #ownChain: OwnChain
  /** Members our chain key was sealed to, in an entry in a log (mirrors the state database; only queued tasks change it). */
  readonly #chainKeySentTo: Set<string>
  /**
   * Sealed messages not in the log yet that carry our chain key, by their
   * bytes' digest, with the members it is sealed to: they count as served once
   * the message is appended (in that write), so a crash that loses the sealed
   * bytes leaves them to be served again. In memory only, as is what a restart
   * forgets: then the next message carries the key again.
   */
  readonly #sharesInFlight = new Map<string, string[]>()
  /** The members of `#sharesInFlight`, not served again while it is on its way. */
  readonly #sharingWith = new Set<string>()

  /** Reads our chain (making it the first time) and whom it was shared with. */
  static async open (deps: GroupSenderDeps): Promise<GroupSender> {
    const { state, stateId, keys } = deps
    const chain = await OwnChain.open(state, stateId, keys.publicKey)
    return new GroupSender(deps, chain, await state.chainKeySentTo(stateId))
  }

  private constructor (deps: GroupSenderDeps, chain: OwnChain, sentTo: Set<string>) {
    this.#deps = deps
    this.#ownChain = chain
    this.#chainKeySentTo = sentTo
  }

  /**
   * Seals and sends an app message at once; resolves with its entry's hash.
   * While it waits for its turn, `signal` takes it out of the line (`AbortError`);
   * once it is being sealed it is sent. Messages sent while earlier ones are
   * on their way go together (`send-batches.ts`). With `once`, the message's id
   * is recorded under its key in the write that appends it, and a send under
   * that key that may come again finds it there and sends nothing.
   */
  async send (message: AppMessageInput, signal?: AbortSignal, once?: SendOnce): Promise<string> {
    if (once !== undefined && !(once.key.length > 0 && once.key.length <= MAX_ONCE_KEY)) throw new InvalidOptionError(`once.key must have 1 to ${MAX_ONCE_KEY} characters`)
    const plaintext = encodeOwnAppMessage(message)
    const files = filesOf(message)
    // Its 'own' status is recorded by the scan its update triggers, off the sender's path.
    return await abortableUntilCommit(signal, 'sending the message', async (commit) => await this.#sends.add({ plaintext, files, once, commit }))
  }

  /** What `send` queued, sealed, appended and handed over together; one aborted while it waited is left out. */
  async #sendTogether (sends: QueuedSend[]): Promise<Array<string | Error>> {
    const { messages, sync, state, groupId } = this.#deps
    const outcomes: Array<string | Error> = []
    const going: Array<{ i: number, send: QueuedSend }> = []
    for (const [i, send] of sends.entries()) {
      try {
        send.commit()
      } catch (err) {
        outcomes[i] = err as Error
        continue
      }
      const sent = send.once?.mayBeSent === true ? await state.sentOnce(groupId, send.once.key) : undefined
      if (sent !== undefined) outcomes[i] = sent
      else going.push({ i, send })
    }
    if (going.length === 0) return outcomes
    const ahead = this.#sealAhead(going.map(({ send }) => send.plaintext))
    const unstaging = this.#deps.files.unstaging(going.flatMap(({ send }) => send.files ?? []))
    // The chain (when the one stored runs out), the files committed and the keys' records go in the write that stores the entries: a crash leaves all or none.
    const values = going.map(({ send }, k) => ({ value: ahead.sealed[k] as Uint8Array, files: send.files }))
    const records = (made: StoredEntry[]): StateOp[] => going.flatMap(({ send }, k) => send.once === undefined ? [] : [state.sentOnceOp(groupId, send.once.key, (made[k] as StoredEntry).hash)])
    const entries = await messages.append(values, (made) => [...ahead.chainOps, ...ahead.share.ops, ...unstaging.ops, ...records(made)])
    ahead.committed()
    ahead.share.committed()
    unstaging.committed()
    await sync.publish(messages.address, entries)
    going.forEach(({ i }, k) => { outcomes[i] = (entries[k] as StoredEntry).hash })
    return outcomes
  }

  /** Seals app messages without sending them, in order: the chain moves on by all of them in one write, before any exists elsewhere. */
  async seal (messages: AppMessageInput[]): Promise<SealedMessage[]> {
    const plaintexts = messages.map(encodeOwnAppMessage)
    const files = messages.map(filesOf)
    if (plaintexts.length === 0) return []
    const { state, groupId } = this.#deps
    const sealed = await this.#task(async () => {
      const ahead = this.#sealAhead(plaintexts)
      // A crash may skip counters, never reuse one: a chain past them is stored before they leave.
      if (ahead.chainOps.length > 0) await state.batch(ahead.chainOps)
      ahead.committed()
      // Who the first one serves our chain key to is written when it is appended (`sendSealed`).
      const served = ahead.share.recipients
      if (served.length > 0) {
        this.#sharesInFlight.set(digestOf(ahead.sealed[0] as Uint8Array), served)
        for (const account of served) this.#sharingWith.add(account)
      }
      return ahead.sealed
    })
    return sealed.map((bytes, i) => files[i] === undefined ? { group: groupId, bytes } : { group: groupId, bytes, files: files[i] })
  }

  /** Sends sealed messages in order, in one append, but those already in the log (unless `mayBeSent` is false); resolves with their ids. */
  async sendSealed (sealed: SealedMessage[], mayBeSent: boolean): Promise<string[]> {
    const { messages, sync, state, stateId } = this.#deps
    return await this.#task(async () => {
      // Messages carrying our chain key: the members it serves are recorded with the append (or were, if it is in the log already).
      const served = this.#sharesInFlight.size === 0 ? [] : sealed.flatMap((message) => {
        const digest = digestOf(message.bytes)
        const accounts = this.#sharesInFlight.get(digest)
        return accounts === undefined ? [] : [{ digest, accounts }]
      })
      const ids = mayBeSent ? await this.findSent(sealed) : sealed.map(() => undefined)
      const unsent = sealed.flatMap((message, i) => ids[i] === undefined ? [{ i, bytes: message.bytes, files: message.files }] : [])
      if (unsent.length > 0) {
        const servedOps = served.flatMap(({ accounts }) => accounts.map((account) => state.chainKeySentOp(stateId, account)))
        const unstaging = this.#deps.files.unstaging(unsent.flatMap((message) => message.files ?? []))
        const entries = await messages.append(unsent.map((message) => ({ value: message.bytes, files: message.files })), [...servedOps, ...unstaging.ops])
        unstaging.committed()
        await sync.publish(messages.address, entries)
        unsent.forEach(({ i }, k) => { ids[i] = (entries[k] as StoredEntry).hash })
      }
      for (const { digest, accounts } of served) {
        this.#sharesInFlight.delete(digest)
        for (const account of accounts) {
          this.#sharingWith.delete(account)
          this.#chainKeySentTo.add(account)
        }
      }
      return ids as string[]
    })
  }

  /** The ids of those of `sealed` already in the log (sent before a crash), among its latest entries. */
  async findSent (sealed: SealedMessage[]): Promise<Array<string | undefined>> {
    const ids: Array<string | undefined> = sealed.map(() => undefined)
    for await (const entry of recentEntries(this.#deps.messages, RESEND_LOOKBACK)) {
      const value = (entry.payload as { value?: unknown }).value
      if (!(value instanceof Uint8Array)) continue
      sealed.forEach((message, i) => { if (ids[i] === undefined && equalBytes(value, message.bytes)) ids[i] = entry.hash })
    }
    return ids
  }

  /**
   * Posts a metadata entry of ours (in turn with the messages); resolves with
   * it. `epoch` rides beside the sealed event, for replicas (a new epoch's pointer).
   */
  async postMetadata (type: MetadataEventTypeNumber, body: unknown, epoch?: Uint8Array): Promise<StoredEntry> {
    return await this.#task(async () => await this.#post(type, body, epoch))
  }

  /**
   * Posts what this device owes the metadata log: itself, with its chain key
   * sealed to every member it knows and its name, in one entry when it first
   * joins (`announced` false); afterwards its name if it changed. `groupName`,
   * from the group's creator, names the group.
   */
  async announce (options: { announced: boolean, groupName?: string | undefined }): Promise<void> {
    const { identity, keys, membership, displayName, now } = this.#deps
    const ownAccount = keyToId(identity.account.publicKey)
    const info = displayName !== undefined && membership.member(ownAccount)?.displayName !== displayName
      ? encodeAppMessage({ type: AppMessageType.SetUserInfo, displayName, sentAt: now() })
      : undefined
    if (!options.announced) {
      await this.#announceDevice({
        m: identity.account.publicKey,
        ms: signMemberDevice(identity.account, keys.publicKey, identity.device.publicKey),
        ...(info === undefined ? {} : { info })
      })
    } else if (info !== undefined) {
      await this.postMetadata(MetadataEventType.PayloadSent, { m: info })
    }
    if (options.groupName !== undefined) {
      await this.postMetadata(MetadataEventType.PayloadSent, { m: encodeAppMessage({ type: AppMessageType.SetGroupInfo, name: options.groupName, sentAt: now() }) })
    }
  }

  /**
   * Announces this device (`MemberDeviceAdded`, vouched for by its account's
   * signature), with our chain key sealed to every member known and `info`
   * (our name), in one entry.
   */
  async #announceDevice (fields: Record<string, unknown>): Promise<void> {
    await this.#task(async () => {
      const share = this.#shareChainKey()
      await this.#post(MetadataEventType.MemberDeviceAdded, { ...fields, k: share.sealed ?? this.#sealChainKeyTo([]) })
      // After the entry: a crash in between serves them again, which costs a box, never a reader.
      await this.#deps.state.batch(share.ops)
      share.committed()
    })
  }

  /** Queues a task other than `send`: sends asked for after it go after it. */
  async #task<T> (task: () => Promise<T>): Promise<T> {
    this.#sends.close()
    return await this.#queue.add(task)
  }

  /** Resolves once nothing is being sent. */
  async idle (): Promise<void> {
    await this.#queue.onIdle()
  }

  /** Once the group is closed and idle: stores our chain as it stands, so that the next start skips no counter. */
  async close (): Promise<void> {
    await this.idle()
    const ops = this.#ownChain.closeOps()
    if (ops.length > 0) await this.#deps.state.batch(ops)
  }

  async #post (type: MetadataEventTypeNumber, body: unknown, epoch?: Uint8Array): Promise<StoredEntry> {
    const { keys, identity, metadata, sync } = this.#deps
    const [entry] = await metadata.append([{ value: sealMetadataEvent(keys.secret, keys.publicKey, identity.device, type, body), epoch }])
    await sync.publish(metadata.address, [entry as StoredEntry])
    return entry as StoredEntry
  }

  /**
   * Our chain key sealed to each member it was not sealed to yet (Wesh
   * `SendSecret`, once per member), so they read what we send from now on:
   * all of them in one box list, carried by the first message after they
   * joined (or by the entry that announces our device), with the writes
   * that record them as served. Queued tasks only.
   *
   * Wesh posts it on the metadata log to each member as soon as it sees them
   * join: in a group of a hundred that is ten thousand entries, each carried
   * to every member, for chains most of whose owners never send. Here a
   * device that never sends shares nothing; one that does shares once with
   * everyone new, in the message they need it for, so that reading it waits
   * on no other entry.
   */
  #shareChainKey (): ChainKeyShare {
    const { identity, state, membership, stateId, contactKey } = this.#deps
    const recipients = new Map<string, Uint8Array>()
    // In a contact group the other member is known before it shows up (Wesh does the same).
    if (contactKey !== undefined) recipients.set(keyToId(contactKey), contactKey)
    for (const member of membership.list()) recipients.set(member.account, membership.accountKey(member.account) as Uint8Array)
    recipients.delete(keyToId(identity.account.publicKey))
    for (const account of this.#chainKeySentTo) recipients.delete(account)
    for (const account of this.#sharingWith) recipients.delete(account)
    if (recipients.size === 0) return { sealed: undefined, recipients: [], ops: [], committed: () => {} }
    return {
      sealed: this.#sealChainKeyTo([...recipients.values()]),
      recipients: [...recipients.keys()],
      ops: [...recipients.keys()].map((account) => state.chainKeySentOp(stateId, account)),
      committed: () => { for (const account of recipients.keys()) this.#chainKeySentTo.add(account) }
    }
  }

  #sealChainKeyTo (members: Uint8Array[]): SealedChainKeys {
    const { identity, keys } = this.#deps
    return sealChainKeys(identity.device, members, keys.publicKey, this.#ownChain.current)
  }

  /**
   * Seals each with the next key of our chain, in order, the first with our
   * chain key for members new since our last message: the chain to write
   * before any of them leaves (none while the one stored covers them), and
   * what to mirror once it is written; the share, to record with the entry
   * that carries it. Queued tasks only.
   */
  #sealAhead (plaintexts: Uint8Array[]): { sealed: Uint8Array[], chainOps: StateOp[], committed: () => void, share: ChainKeyShare } {
    const { keys, identity, groupId } = this.#deps
    if (this.#deps.closed()) throw new NotRunningError(`group ${groupId} is closed`)
    const share = this.#shareChainKey()
    const { steps, ops, committed } = this.#ownChain.advance(plaintexts.length)
    const sealed = steps.map((step, i) => sealMessage(keys.secret, keys.publicKey, identity.device, step.counter, step.messageKey, plaintexts[i] as Uint8Array, i === 0 ? share.sealed : undefined))
    return { sealed, chainOps: ops, committed, share }
  }
}

/** Our chain key sealed to members who lack it, and the writes that record them as served. */
interface ChainKeyShare {
  sealed: SealedChainKeys | undefined
  recipients: string[]
  ops: StateOp[]
  committed: () => void
}

function digestOf (bytes: Uint8Array): string {
  return keyToId(sha256(bytes))
}
