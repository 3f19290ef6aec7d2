/**
 * A member who turned hostile: it holds the group secret (it was invited), so
 * its entries pass the access controller, and it crafts their contents by
 * hand with the protocol's own sealing functions, bending one thing at a time.
 * It runs on a plain OrbitDB node, not on a bertybot peer.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { Events, useAccessController, type Database, type DatabaseFactory } from '@orbitdb/core'
import { GroupAccessController } from '../../src/protocol/access-controller.ts'
import { AppMessageType } from '../../src/protocol/app-messages.ts'
import { generateSigningKeyPair, randomBytes, type SigningKeyPair } from '../../src/protocol/crypto.ts'
import { encodeCbor, idToKey } from '../../src/protocol/encoding.ts'
import { MetadataEventType, sealChainKeys, sealMessage, sealMetadataEvent, signMemberDevice } from '../../src/protocol/envelope.ts'
import { decodeInvitation, type GroupKeys } from '../../src/protocol/group-keys.ts'
import { groupIdentity } from '../../src/protocol/log-manifest.ts'
import { newSenderChain, nextSendingKey, type SenderChain } from '../../src/protocol/ratchet.ts'
import { startPlainOrbitDB, type PlainOrbitDB } from './plain-orbitdb.ts'

export class HostileMember {
  readonly account = generateSigningKeyPair()
  readonly device = generateSigningKeyPair()
  readonly keys: GroupKeys
  readonly node: PlainOrbitDB
  readonly metadata: Database
  readonly messages: Database
  chain: SenderChain = newSenderChain()

  private constructor (keys: GroupKeys, node: PlainOrbitDB, metadata: Database, messages: Database) {
    this.keys = keys
    this.node = node
    this.metadata = metadata
    this.messages = messages
  }

  static async join (invitation: string, addresses: { metadata: string, messages: string }, dial: string, dir: string): Promise<HostileMember> {
    const { keys } = decodeInvitation(invitation)
    const node = await startPlainOrbitDB(dir, { anonymous: true })
    // As any OrbitDB user opening a group's logs must: the logs name this controller.
    useAccessController(GroupAccessController)
    await node.libp2p.dial(multiaddr(dial))
    // OrbitDB's stock events database, signing with the group's key as a member can.
    const Database: DatabaseFactory = async (params) => await Events()({ ...params, identity: groupIdentity(keys.signing) })
    const metadata = await node.orbitdb.open(addresses.metadata, { Database })
    const messages = await node.orbitdb.open(addresses.messages, { Database })
    return new HostileMember(keys, node, metadata, messages)
  }

  /** Announces its device on the metadata log, as a joining member does. */
  async announce (): Promise<void> {
    const { secret, publicKey } = this.keys
    await this.metadata.add(sealMetadataEvent(secret, publicKey, this.device, MetadataEventType.MemberDeviceAdded, {
      m: this.account.publicKey,
      ms: signMemberDevice(this.account, publicKey, this.device.publicKey)
    }))
  }

  /** Seals its current chain key to each member (account id) and posts it. */
  async shareChainKey (memberAccounts: string[]): Promise<void> {
    await this.sealChainKey(memberAccounts)()
  }

  /**
   * Seals its chain key as it is now, to post later: the metadata log then lags
   * behind the message log, as it can when the two sync independently.
   */
  sealChainKey (memberAccounts: string[]): () => Promise<void> {
    const { secret, publicKey } = this.keys
    const event = sealMetadataEvent(secret, publicKey, this.device, MetadataEventType.DeviceChainKeyAdded, {
      k: sealChainKeys(this.device, memberAccounts.map((account) => idToKey(account) as Uint8Array), publicKey, this.chain)
    })
    return async () => { await this.metadata.add(event) }
  }

  /** Seals an app message as a member would, with the next counter of its chain; `bend` changes one thing. */
  seal (message: Record<string, unknown>, bend: { secret?: Uint8Array, signer?: SigningKeyPair, reuseCounter?: boolean } = {}): Uint8Array {
    const step = nextSendingKey(this.chain, this.keys.publicKey)
    if (bend.reuseCounter !== true) this.chain = step.chain
    // The headers always name this member's device; `signer` only changes who signs.
    const signer = bend.signer === undefined ? this.device : { seed: bend.signer.seed, publicKey: this.device.publicKey }
    return sealMessage(bend.secret ?? this.keys.secret, this.keys.publicKey, signer, step.counter, step.messageKey, encodeCbor(message))
  }

  text (text: string, bend: Parameters<HostileMember['seal']>[1] = {}): Uint8Array {
    return this.seal({ type: AppMessageType.UserMessage, text, sentAt: Date.now() }, bend)
  }

  async append (value: Uint8Array): Promise<string> {
    return await this.messages.add(value)
  }

  static garbage (): Uint8Array {
    return randomBytes(80)
  }

  async stop (): Promise<void> {
    await this.node.stop()
  }
}
