/**
 * What this device writes to a group: its own chain (WESH.md §2.4), the
 * messages sealed with it, and the metadata entries it posts. One task at a
 * time, in order: the chain moves on by each message exactly once, and a
 * member who joined since our last message gets our chain key (sealed to it,
 * on the metadata log) before the message it is needed for.
 */
import PQueue from 'p-queue'
import { appMessageSchema, encodeAppMessage, type AppMessage } from './app-messages.ts'
import { equalBytes } from './crypto.ts'
import { keyToId } from './encoding.ts'
import { MetadataEventType, sealChainKeys, sealMessage, sealMetadataEvent, type MetadataEventTypeNumber, type SealedChainKeys } from './envelope.ts'
import { BertybotError, NotRunningError } from './errors.ts'
import type { GroupKeys } from './group-keys.ts'
import type { GroupLog } from './group-log.ts'
import type { SealedMessage } from './handles.ts'
import type { IdentityKeys } from './keystore.ts'
import type { StoredEntry } from './log-entry.ts'
import type { LogSync } from './log-sync.ts'
import type { Membership } from './membership.ts'
import { nextSendingKey, newSenderChain, type SenderChain } from './ratchet.ts'
import type { StateStore } from './state-store.ts'

/** How far back `sendSealedMany` looks for the same message already sent. */
const RESEND_LOOKBACK = 256

export class InvalidMessageError extends BertybotError {
  constructor (message: string) {
    super('ERR_INVALID_MESSAGE', message)
  }
}

export interface GroupSenderDeps {
  groupId: string
  keys: GroupKeys
  identity: IdentityKeys
  state: StateStore
  sync: LogSync
  membership: Membership
  metadata: GroupLog
  messages: GroupLog
  /** Contact groups: the other account's public key (known before it shows up on the log). */
  contactKey: Uint8Array | undefined
  /** True once the group is closed: nothing more is sealed. */
  closed: () => boolean
}

export class GroupSender {
  readonly #deps: GroupSenderDeps
  readonly #queue = new PQueue({ concurrency: 1 })
  /** Our chain, mirrored from the state database (only queued tasks touch it). */
  #ownChain: SenderChain
  /** Members our chain key was sealed to (mirrors the state database; only queued tasks change it). */
  readonly #chainKeySentTo: Set<string>

  /** Reads our chain (making it the first time) and whom it was shared with. */
  static async open (deps: GroupSenderDeps): Promise<GroupSender> {
    const { state, groupId } = deps
    let chain = await state.ownChain(groupId)
    if (chain === undefined) {
      chain = newSenderChain()
      await state.batch([state.putOwnChainOp(groupId, chain)])
    }
    return new GroupSender(deps, chain, await state.chainKeySentTo(groupId))
  }

  private constructor (deps: GroupSenderDeps, chain: SenderChain, sentTo: Set<string>) {
    this.#deps = deps
    this.#ownChain = chain
    this.#chainKeySentTo = sentTo
  }

  /** Seals and sends an app message at once; resolves with its entry's hash. */
  async send (message: AppMessage): Promise<string> {
    const plaintext = encodeChecked(message)
    const { state, messages, sync, groupId } = this.#deps
    // Its 'own' status is recorded by the scan its update triggers, off the sender's path.
    return await this.#queue.add(async () => {
      const { sealed, chain } = await this.#sealAhead([plaintext])
      // The chain moves on in the write that stores the entry: a crash leaves both or neither, and it leaves after.
      const [entry] = await messages.append(sealed, [state.putOwnChainOp(groupId, chain)])
      this.#ownChain = chain
      await sync.publish(messages.address, [entry as StoredEntry])
      return (entry as StoredEntry).hash
    })
  }

  /** Seals app messages without sending them, in order: the chain moves on by all of them in one write, before any exists elsewhere. */
  async seal (messages: AppMessage[]): Promise<SealedMessage[]> {
    const plaintexts = messages.map(encodeChecked)
    if (plaintexts.length === 0) return []
    const { state, groupId } = this.#deps
    const sealed = await this.#queue.add(async () => {
      const ahead = await this.#sealAhead(plaintexts)
      // A crash may skip counters, never reuse one.
      await state.batch([state.putOwnChainOp(groupId, ahead.chain)])
      this.#ownChain = ahead.chain
      return ahead.sealed
    })
    return sealed.map((bytes) => ({ group: groupId, bytes }))
  }

  /** Sends sealed messages in order, in one append, but those already in the log (unless `mayBeSent` is false); resolves with their ids. */
  async sendSealed (sealed: SealedMessage[], mayBeSent: boolean): Promise<string[]> {
    const { messages, sync } = this.#deps
    return await this.#queue.add(async () => {
      const ids: Array<string | undefined> = sealed.map(() => undefined)
      if (mayBeSent) {
        for await (const entry of messages.recent(RESEND_LOOKBACK)) {
          const value = (entry.payload as { value?: unknown }).value
          if (!(value instanceof Uint8Array)) continue
          sealed.forEach((message, i) => { if (ids[i] === undefined && equalBytes(value, message.bytes)) ids[i] = entry.hash })
        }
      }
      const unsent = sealed.flatMap((message, i) => ids[i] === undefined ? [{ i, bytes: message.bytes }] : [])
      if (unsent.length > 0) {
        const entries = await messages.append(unsent.map((message) => message.bytes))
        await sync.publish(messages.address, entries)
        unsent.forEach(({ i }, k) => { ids[i] = (entries[k] as StoredEntry).hash })
      }
      return ids as string[]
    })
  }

  /** Posts a metadata entry of ours (in turn with the messages); resolves with its hash. */
  async postMetadata (type: MetadataEventTypeNumber, body: unknown): Promise<string> {
    return await this.#queue.add(async () => await this.#post(type, body))
  }

  /**
   * Announces this device (`MemberDeviceAdded`, vouched for by `vouch`), with
   * our chain key sealed to every member known and `info` (our name), in one entry.
   */
  async announceDevice (fields: Record<string, unknown>): Promise<void> {
    await this.#queue.add(async () => {
      await this.#shareChainKey(async (k) => await this.#post(MetadataEventType.MemberDeviceAdded, { ...fields, k }), { evenIfNone: true })
    })
  }

  /** Resolves once nothing is being sent. */
  async idle (): Promise<void> {
    await this.#queue.onIdle()
  }

  async #post (type: MetadataEventTypeNumber, body: unknown): Promise<string> {
    const { keys, identity, metadata, sync } = this.#deps
    const [entry] = await metadata.append([sealMetadataEvent(keys.secret, keys.publicKey, identity.device, type, body)])
    await sync.publish(metadata.address, [entry as StoredEntry])
    return (entry as StoredEntry).hash
  }

  /**
   * Seals our chain key to each member it was not sealed to yet (Wesh
   * `SendSecret`, once per member), so they read what we send from now on:
   * all of them in one entry, which `post` makes (a DeviceChainKeyAdded by
   * default). Queued tasks only: before the first message after members
   * joined (`#sealAhead`), and in the entry that announces our device.
   *
   * Wesh sends it to each member as soon as it sees them join: in a group of
   * a hundred that is ten thousand entries, each carried to every member,
   * for chains most of whose owners never send. Here a device that never
   * sends shares nothing, and one that does shares once with everyone new.
   */
  async #shareChainKey (
    post: (sealed: SealedChainKeys) => Promise<string> = async (k) => await this.#post(MetadataEventType.DeviceChainKeyAdded, { k }),
    options: { evenIfNone?: boolean } = {}
  ): Promise<void> {
    const { identity, state, membership, keys, groupId, contactKey } = this.#deps
    const recipients = new Map<string, Uint8Array>()
    // In a contact group the other member is known before it shows up (Wesh does the same).
    if (contactKey !== undefined) recipients.set(keyToId(contactKey), contactKey)
    for (const member of membership.list()) recipients.set(member.account, membership.accountKey(member.account) as Uint8Array)
    recipients.delete(keyToId(identity.account.publicKey))
    for (const account of this.#chainKeySentTo) recipients.delete(account)
    if (recipients.size === 0 && options.evenIfNone !== true) return
    await post(sealChainKeys(identity.device, [...recipients.values()], keys.publicKey, this.#ownChain))
    await state.batch([...recipients.keys()].map((account) => state.chainKeySentOp(groupId, account)))
    for (const account of recipients.keys()) this.#chainKeySentTo.add(account)
  }

  /** Seals each with the next key of our chain, in order: the chain to write before any of them leaves. Queued tasks only. */
  async #sealAhead (plaintexts: Uint8Array[]): Promise<{ sealed: Uint8Array[], chain: SenderChain }> {
    const { keys, identity, groupId } = this.#deps
    if (this.#deps.closed()) throw new NotRunningError(`group ${groupId} is closed`)
    // Members who joined since our last message get our chain key first, so they can read these.
    await this.#shareChainKey()
    let chain = this.#ownChain
    const steps = plaintexts.map(() => {
      const step = nextSendingKey(chain, keys.publicKey)
      chain = step.chain
      return step
    })
    const sealed = steps.map((step, i) => sealMessage(keys.secret, keys.publicKey, identity.device, step.counter, step.messageKey, plaintexts[i] as Uint8Array))
    return { sealed, chain }
  }
}

/** Encodes an app message of ours, refusing one that receivers would drop. */
function encodeChecked (message: AppMessage): Uint8Array {
  const checked = appMessageSchema.safeParse(message)
  if (!checked.success) throw new InvalidMessageError(checked.error.issues[0]?.message ?? 'invalid message')
  return encodeAppMessage(message)
}
