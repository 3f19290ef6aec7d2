/**
 * What a group's log entries carry (WESH.md §2.3), as CBOR. Both logs seal
 * their entries in a box padded to one of a few sizes (`padding.ts`), so that
 * the size of an entry says nothing of what it is, nor who wrote it.
 *
 * Metadata log: `{ n, e }`, e = secretbox(group secret, n, MetadataEvent),
 * MetadataEvent = `{ t: type, d: device key, p: body, s: device signature,
 * x: padding }`. Readable by every holder of the group secret, so later
 * members learn who is in the group and get their chain keys.
 *
 * Message log: `{ n, e }`, e = secretbox(group secret, n, `{ c: counter,
 * d: device key, s: signature, k?: chain keys, b, x: padding }`), b =
 * secretbox(message key, counter ‖ 0…, app message). Only members holding the
 * sender's chain key read `b`. Earlier builds wrote `{ h, n, b }`, h the same
 * headers sealed alone: still opened. The headers and the body are sealed in
 * one box so that nothing outside it tells them apart (the size of the
 * headers would tell a message carrying chain keys, its sender's first since
 * others joined).
 *
 * Where we differ from Wesh, and why:
 * - Signatures cover a domain label, the group key and (for messages) the
 *   counter, not the payload alone: a member, who can derive every key of a
 *   chain shared with it, cannot replay someone's signed text under a new
 *   counter or in another group.
 * - Chain keys are sealed to a member with X25519 + HKDF + XChaCha20-Poly1305
 *   and a random nonce, where Wesh uses NaCl box with a fixed nonce (the
 *   group key), which is safe only if a box is never sent twice; a device that
 *   crashes between sending and recording it would send it twice.
 */
import { z } from 'zod'
import {
  concatBytes, equalBytes, hkdfSha256, openAead, openAeadWithNonce, openSecretbox, randomBytes, sealAead, sealAeadWithNonce, sealSecretbox, sign,
  toX25519PublicKey, toX25519SecretKey, uint64BE, utf8ToBytes, verifySignature, x25519Agreement,
  KEY_SIZE, NONCE_SIZE, type SigningKeyPair
} from './crypto.ts'
import { decodeCbor, encodeCbor, validate } from './encoding.ts'
import { openPadded, sealPadded } from './padding.ts'
import type { SenderChain } from './ratchet.ts'
import { bytes, nonceBytes, publicKeyBytes, signatureBytes, uint } from './schemas.ts'

const DOMAIN_METADATA = utf8ToBytes('bertybot/metadata/v1')
const DOMAIN_MESSAGE = utf8ToBytes('bertybot/message/v1')
const DOMAIN_MEMBER_DEVICE = utf8ToBytes('bertybot/member-device/v1')
const DOMAIN_CHAIN_KEY = utf8ToBytes('bertybot/chain-key/v1')

/**
 * Metadata event types, numbered as Wesh's `EventType` where Wesh has the
 * event; ours (roles revoked, epochs) from 2001, well above Wesh's (up to 1001).
 */
export const MetadataEventType = {
  MemberDeviceAdded: 1,
  DeviceChainKeyAdded: 2,
  InitialAdmins: 302,
  AdminRoleGranted: 303,
  GroupReplicating: 403,
  PayloadSent: 1001,
  AdminRoleRevoked: 2001,
  EpochStarted: 2002
} as const
export type MetadataEventTypeNumber = typeof MetadataEventType[keyof typeof MetadataEventType]

const sealedSchema = z.object({ n: nonceBytes, e: bytes() })
const metadataEventSchema = z.object({ t: uint, d: publicKeyBytes, p: bytes(), s: signatureBytes })

/** Recipients one entry seals a chain key to at most: a group's members, with room. */
export const MAX_CHAIN_KEY_RECIPIENTS = 1024
/** How much of a member's key names it among the boxes: enough that members never collide. */
const RECIPIENT_PREFIX = 8

/**
 * A device's chain key sealed to several members at once (`sealChainKeys`):
 * one random nonce for the entry, and for each member the first bytes of its
 * key and a box only it can open.
 */
const sealedChainKeysSchema = z.object({
  n: nonceBytes,
  k: z.array(z.tuple([bytes(RECIPIENT_PREFIX, 'recipient'), bytes(KEY_SIZE + 8 + 16, 'chain key box')])).max(MAX_CHAIN_KEY_RECIPIENTS)
})
export type SealedChainKeys = z.infer<typeof sealedChainKeysSchema>

/**
 * A device joining: its member (account) key and the member's signature of it;
 * and, so that joining takes one entry, its chain key sealed to the members it
 * knows (`k`) and its display name (`info`, a SetUserInfo app message).
 */
export const memberDeviceAddedSchema = z.object({
  m: publicKeyBytes,
  ms: signatureBytes,
  k: sealedChainKeysSchema.optional(),
  info: bytes().optional()
})
/** Our chain key sealed to members who joined since: to many at once (`k`), or to one, as earlier builds wrote it (`to`, `box`). */
export const deviceChainKeyAddedSchema = z.object({ k: sealedChainKeysSchema }).or(z.object({ to: publicKeyBytes, box: bytes() }))
export const payloadSentSchema = z.object({ m: bytes() })
export const groupReplicatingSchema = z.object({ peer: z.string().min(1).max(128), hints: z.array(z.string().max(1024)).max(32) })
const chainKeySchema = z.object({ ck: bytes(KEY_SIZE, 'chain key'), c: uint })

export interface MetadataEvent {
  type: number
  device: Uint8Array
  body: Uint8Array
}

function metadataSigned (groupPublicKey: Uint8Array, type: number, body: Uint8Array): Uint8Array {
  return concatBytes(DOMAIN_METADATA, groupPublicKey, uint64BE(type), body)
}

export function sealMetadataEvent (secret: Uint8Array, groupPublicKey: Uint8Array, device: SigningKeyPair, type: MetadataEventTypeNumber, body: unknown): Uint8Array {
  const p = encodeCbor(body)
  return sealPadded(secret, { t: type, d: device.publicKey, p, s: sign(device, metadataSigned(groupPublicKey, type, p)) })
}

export type OpenFailure = { ok: false, reason: 'malformed' | 'wrong-key' | 'bad-signature', detail: string }

/** Opens and authenticates a metadata entry's payload; the body is still to be validated by type. */
export function openMetadataEvent (secret: Uint8Array, groupPublicKey: Uint8Array, payload: Uint8Array): { ok: true, event: MetadataEvent } | OpenFailure {
  let detail = ''
  const sealed = decodeCbor(payload, sealedSchema, (r) => { detail = r })
  if (sealed === undefined) return { ok: false, reason: 'malformed', detail }
  const plain = openPadded(secret, sealed)
  if (!plain.ok) return plain
  const event = validate(plain.value, metadataEventSchema, (r) => { detail = r })
  if (event === undefined) return { ok: false, reason: 'malformed', detail }
  if (!verifySignature(event.d, metadataSigned(groupPublicKey, event.t, event.p), event.s)) {
    return { ok: false, reason: 'bad-signature', detail: 'metadata event not signed by its device' }
  }
  return { ok: true, event: { type: event.t, device: event.d, body: event.p } }
}

/** Wesh `member_sig`: the member (account) key vouches that a device is one of its own, in this group. */
export function signMemberDevice (member: SigningKeyPair, groupPublicKey: Uint8Array, devicePublicKey: Uint8Array): Uint8Array {
  return sign(member, concatBytes(DOMAIN_MEMBER_DEVICE, groupPublicKey, devicePublicKey))
}

export function verifyMemberDevice (memberPublicKey: Uint8Array, groupPublicKey: Uint8Array, devicePublicKey: Uint8Array, signature: Uint8Array): boolean {
  return verifySignature(memberPublicKey, concatBytes(DOMAIN_MEMBER_DEVICE, groupPublicKey, devicePublicKey), signature)
}

function chainKeyBoxKey (ownSeed: Uint8Array, otherPublicKey: Uint8Array, groupPublicKey: Uint8Array): Uint8Array {
  const shared = x25519Agreement(toX25519SecretKey(ownSeed), toX25519PublicKey(otherPublicKey))
  return hkdfSha256(shared, groupPublicKey, DOMAIN_CHAIN_KEY, KEY_SIZE)
}

/** Seals our device's chain to a member, as earlier builds did (one entry per member): any device holding that member's key can open it. */
export function sealChainKey (device: SigningKeyPair, memberPublicKey: Uint8Array, groupPublicKey: Uint8Array, chain: SenderChain): Uint8Array {
  const key = chainKeyBoxKey(device.seed, memberPublicKey, groupPublicKey)
  return sealAead(key, encodeCbor({ ck: chain.chainKey, c: chain.counter }), concatBytes(groupPublicKey, device.publicKey, memberPublicKey))
}

function chainKeyAssociatedData (groupPublicKey: Uint8Array, devicePublicKey: Uint8Array, memberPublicKey: Uint8Array): Uint8Array {
  return concatBytes(groupPublicKey, devicePublicKey, memberPublicKey)
}

/**
 * Seals our device's chain to each of `members` in one go. Each box has a key
 * of its own (our device's agreement with that member), so one random nonce
 * serves them all; the plaintext is the chain key and its counter, raw.
 */
export function sealChainKeys (device: SigningKeyPair, members: Uint8Array[], groupPublicKey: Uint8Array, chain: SenderChain): SealedChainKeys {
  const n = randomBytes(NONCE_SIZE)
  const plaintext = concatBytes(chain.chainKey, uint64BE(chain.counter))
  return {
    n,
    k: members.map((member) => [
      member.subarray(0, RECIPIENT_PREFIX),
      sealAeadWithNonce(chainKeyBoxKey(device.seed, member, groupPublicKey), n, plaintext, chainKeyAssociatedData(groupPublicKey, device.publicKey, member))
    ])
  }
}

/** Opens the box of `sealed` meant for `member`, if there is one. */
export function openChainKeys (member: SigningKeyPair, devicePublicKey: Uint8Array, groupPublicKey: Uint8Array, sealed: SealedChainKeys): SenderChain | undefined {
  const prefix = member.publicKey.subarray(0, RECIPIENT_PREFIX)
  for (const [to, box] of sealed.k) {
    if (!equalBytes(to, prefix)) continue
    const plain = openAeadWithNonce(chainKeyBoxKey(member.seed, devicePublicKey, groupPublicKey), sealed.n, box, chainKeyAssociatedData(groupPublicKey, devicePublicKey, member.publicKey))
    if (plain?.length === KEY_SIZE + 8) {
      const counter = new DataView(plain.buffer, plain.byteOffset + KEY_SIZE, 8).getBigUint64(0)
      if (counter <= BigInt(Number.MAX_SAFE_INTEGER)) return { chainKey: plain.slice(0, KEY_SIZE), counter: Number(counter) }
    }
  }
  return undefined
}

/** Opens a chain key sealed to one member, as earlier builds sealed them. */
export function openChainKey (member: SigningKeyPair, devicePublicKey: Uint8Array, groupPublicKey: Uint8Array, box: Uint8Array): SenderChain | undefined {
  const key = chainKeyBoxKey(member.seed, devicePublicKey, groupPublicKey)
  const plain = openAead(key, box, concatBytes(groupPublicKey, devicePublicKey, member.publicKey))
  if (plain === undefined) return undefined
  const chain = decodeCbor(plain, chainKeySchema)
  return chain === undefined ? undefined : { chainKey: chain.ck, counter: chain.c }
}

/** A message as earlier builds sealed it: the headers and the body side by side. */
const unpaddedMessageSchema = z.object({ h: bytes(), n: nonceBytes, b: bytes() })
/** A message's envelope, padded or as an earlier build sealed it: made once (a union is costly to make per message). */
const messageEnvelopeSchema = unpaddedMessageSchema.or(sealedSchema)
/**
 * A message's headers, sealed with the group secret. `k`: the sender's chain
 * key sealed to the members who had not had it (its first message after they
 * joined), so that the message they need it for carries it.
 */
const messageHeadersSchema = z.object({ c: uint.min(1), d: publicKeyBytes, s: signatureBytes, k: sealedChainKeysSchema.optional() })
/** The headers with the sealed body, as one padded box holds them. */
const paddedMessageSchema = messageHeadersSchema.extend({ b: bytes() })

export interface MessageHeaders {
  counter: number
  device: Uint8Array
  signature: Uint8Array
  /** The sender's chain, sealed to members who did not have it yet. */
  chainKeys?: SealedChainKeys
}

/** Wesh `uint64AsNonce`: each message key is used once, so the counter is nonce enough. */
function bodyNonce (counter: number): Uint8Array {
  return concatBytes(uint64BE(counter), new Uint8Array(NONCE_SIZE - 8))
}

function messageSigned (groupPublicKey: Uint8Array, counter: number, plaintext: Uint8Array): Uint8Array {
  return concatBytes(DOMAIN_MESSAGE, groupPublicKey, uint64BE(counter), plaintext)
}

export function sealMessage (secret: Uint8Array, groupPublicKey: Uint8Array, device: SigningKeyPair, counter: number, messageKey: Uint8Array, plaintext: Uint8Array, chainKeys?: SealedChainKeys): Uint8Array {
  const signature = sign(device, messageSigned(groupPublicKey, counter, plaintext))
  const b = sealSecretbox(messageKey, bodyNonce(counter), plaintext)
  return sealPadded(secret, chainKeys === undefined ? { c: counter, d: device.publicKey, s: signature, b } : { c: counter, d: device.publicKey, s: signature, k: chainKeys, b })
}

/** First step of opening a message: the headers, readable with the group secret alone. */
export function openMessageHeaders (secret: Uint8Array, payload: Uint8Array): { ok: true, headers: MessageHeaders, sealedBody: Uint8Array } | OpenFailure {
  let detail = ''
  const envelope = decodeCbor(payload, messageEnvelopeSchema, (r) => { detail = r })
  if (envelope === undefined) return { ok: false, reason: 'malformed', detail }
  let headers: z.infer<typeof paddedMessageSchema> | undefined
  if ('h' in envelope) {
    const plain = openSecretbox(secret, envelope.n, envelope.h)
    if (plain === undefined) return { ok: false, reason: 'wrong-key', detail: 'headers not sealed with this group\'s secret' }
    const alone = decodeCbor(plain, messageHeadersSchema, (r) => { detail = r })
    headers = alone === undefined ? undefined : { ...alone, b: envelope.b }
  } else {
    const plain = openPadded(secret, envelope)
    if (!plain.ok) return { ...plain, detail: `headers ${plain.detail}` }
    headers = validate(plain.value, paddedMessageSchema, (r) => { detail = r })
  }
  if (headers === undefined) return { ok: false, reason: 'malformed', detail }
  const opened: MessageHeaders = { counter: headers.c, device: headers.d, signature: headers.s }
  if (headers.k !== undefined) opened.chainKeys = headers.k
  return { ok: true, headers: opened, sealedBody: headers.b }
}

/** Second step: the body, with the message key of the headers' counter, checked against the device signature. */
export function openMessageBody (groupPublicKey: Uint8Array, headers: MessageHeaders, messageKey: Uint8Array, sealedBody: Uint8Array): { ok: true, plaintext: Uint8Array } | OpenFailure {
  const plaintext = openSecretbox(messageKey, bodyNonce(headers.counter), sealedBody)
  if (plaintext === undefined) return { ok: false, reason: 'wrong-key', detail: 'body not sealed with the key of its counter' }
  if (!verifySignature(headers.device, messageSigned(groupPublicKey, headers.counter, plaintext), headers.signature)) {
    return { ok: false, reason: 'bad-signature', detail: 'message not signed by the device in its headers' }
  }
  return { ok: true, plaintext }
}
