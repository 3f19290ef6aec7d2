/**
 * Asking a replica to keep a group's logs (WESH.md §2.8).
 *
 * A replica's link carries its account key, an access token and its
 * addresses, signed by the account. A member who holds the link sends, over
 * `REPLICATION_PROTOCOL`, only what a replica needs to store and check a
 * group's entries: the group key, the signing public key, the link key and the
 * group key's signature of it. Never the secret: the replica verifies writes
 * and serves entries, and cannot read or write them. The token keeps strangers
 * from filling the replica's disk; the request is signed with the group's
 * signing key (whose seed is the group's secret), which proves that it comes
 * from a member, without saying which: the replica learns no account, so it
 * cannot tell that one account registered several groups. The signature
 * covers the replica's key and token, so it is good for that replica only.
 *
 * Earlier builds sent `/bertybot/replicate/1.0.0`, signed by the member's
 * account: a replica still takes those requests (the token and the account's
 * signature checked as before), and keeps or logs no account. A member does
 * not send them: to a replica that speaks only that version, it says why.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import { z } from 'zod'
import { throwIfAborted, type AbortOptions } from './abort.ts'
import { concatBytes, equalBytes, sign, utf8ToBytes, verifySignature, type SigningKeyPair } from './crypto.ts'
import { decodeCbor, encodeCbor } from './encoding.ts'
import { BertybotError, InvalidLinkError } from './errors.ts'
import { decodeLink, encodeLink } from './link.ts'
import { bytes, publicKeyBytes, signatureBytes } from './schemas.ts'

export const REPLICATION_PROTOCOL = '/bertybot/replicate/2.0.0'
/** What earlier builds asked with: the member's account signs. */
export const LEGACY_REPLICATION_PROTOCOL = '/bertybot/replicate/1.0.0'
const TOKEN_SIZE = 32
const MAX_FRAME = 16 * 1024
const DOMAIN_LINK = utf8ToBytes('bertybot/replica-link/v1')
const DOMAIN_LEGACY_REQUEST = utf8ToBytes('bertybot/replicate/v1')
const DOMAIN_REQUEST = utf8ToBytes('bertybot/replicate/v2')

const replicaLinkSchema = z.object({
  pk: publicKeyBytes,
  token: bytes(TOKEN_SIZE, 'access token'),
  hints: z.array(z.string().max(1024)).min(1).max(32),
  sig: signatureBytes
})

export interface ReplicaLink {
  readonly accountKey: Uint8Array
  readonly token: Uint8Array
  readonly hints: string[]
}

function linkSigned (accountKey: Uint8Array, token: Uint8Array, hints: string[]): Uint8Array {
  return concatBytes(DOMAIN_LINK, accountKey, token, encodeCbor(hints))
}

export function encodeReplicaLink (account: SigningKeyPair, token: Uint8Array, hints: string[]): string {
  return encodeLink('replica', { pk: account.publicKey, token, hints, sig: sign(account, linkSigned(account.publicKey, token, hints)) })
}

export function decodeReplicaLink (link: string): ReplicaLink {
  const body = decodeLink(link, 'replica', replicaLinkSchema)
  if (!verifySignature(body.pk, linkSigned(body.pk, body.token, body.hints), body.sig)) {
    throw new InvalidLinkError('tampered', 'replica link was tampered with: it is not signed by its replica')
  }
  return { accountKey: body.pk, token: body.token, hints: body.hints }
}

/** What a replica is given of a group. */
export interface ReplicatedGroup {
  /** The group key (its id). */
  readonly pk: Uint8Array
  /** The public half of the signing key every entry is signed with. */
  readonly signPub: Uint8Array
  readonly linkKey: Uint8Array
  /** The group key's signature of the link key. */
  readonly linkKeySig: Uint8Array
}

const groupSchema = z.object({ pk: publicKeyBytes, signPub: publicKeyBytes, linkKey: bytes(32, 'link key'), linkKeySig: signatureBytes })
/** `proof`: the group's signing key's signature of `requestSigned`. */
const requestSchema = z.object({ token: bytes(TOKEN_SIZE, 'access token'), group: groupSchema, proof: signatureBytes })
/** An earlier build's request: `sig` is the member account's signature of `legacyRequestSigned`. */
const legacyRequestSchema = z.object({ token: bytes(TOKEN_SIZE, 'access token'), group: groupSchema, member: publicKeyBytes, sig: signatureBytes })
const answerSchema = z.object({ ok: z.boolean(), error: z.string().max(500).optional() })

function requestSigned (replicaKey: Uint8Array, token: Uint8Array, group: ReplicatedGroup): Uint8Array {
  return concatBytes(DOMAIN_REQUEST, replicaKey, token, group.pk, group.signPub, group.linkKey)
}

function legacyRequestSigned (token: Uint8Array, group: ReplicatedGroup): Uint8Array {
  return concatBytes(DOMAIN_LEGACY_REQUEST, token, group.pk, group.signPub, group.linkKey)
}

/** The replica refused a group, or could not be reached; `message` says why. */
export class ReplicationError extends BertybotError {
  constructor (message: string) {
    super('ERR_REPLICATION', message)
  }
}

/**
 * Member side: dials the replica of `link` and asks it to keep `group`,
 * proving membership with the group's `signing` key. Resolves with the
 * replica's peer id; throws `ReplicationError` if it cannot be reached or
 * refuses.
 */
export async function askReplica (libp2p: Libp2p, link: ReplicaLink, group: ReplicatedGroup, signing: SigningKeyPair, options: AbortOptions = {}): Promise<string> {
  const addresses = link.hints.map((hint) => multiaddr(hint))
  const peerIdText = addresses[0]?.getComponents().find((c) => c.name === 'p2p')?.value
  if (peerIdText === undefined) throw new InvalidLinkError('malformed', 'replica link has no peer address')
  const what = 'asking the replica'
  throwIfAborted(options.signal, what)
  const peer = peerIdFromString(peerIdText)
  await libp2p.peerStore.merge(peer, { multiaddrs: addresses })
  const signal = AbortSignal.any([AbortSignal.timeout(20_000), ...(options.signal === undefined ? [] : [options.signal])])
  let stream: Stream
  try {
    stream = await libp2p.dialProtocol(peer, REPLICATION_PROTOCOL, { signal })
  } catch (err) {
    throwIfAborted(options.signal, what)
    if ((err as Error).name === 'UnsupportedProtocolError') {
      throw new ReplicationError('the replica runs an earlier bertybot, which asks for the member\'s account with the group: upgrade the replica')
    }
    throw new ReplicationError(`cannot reach the replica: ${(err as Error).message}`)
  }
  try {
    await requestReplication(stream, { link, group, signing, signal })
    await stream.close({ signal }).catch(() => {})
  } catch (err) {
    stream.abort(err as Error)
    throwIfAborted(options.signal, what)
    throw err
  }
  return peerIdText
}

/** Member side: asks the replica at the other end of `stream` to keep `group`, with a proof made by the group's `signing` key. */
export async function requestReplication (stream: Stream, options: { link: ReplicaLink, group: ReplicatedGroup, signing: SigningKeyPair, signal: AbortSignal }): Promise<void> {
  const { link, group, signing, signal } = options
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
  await lp.write(encodeCbor({
    token: link.token,
    group: { pk: group.pk, signPub: group.signPub, linkKey: group.linkKey, linkKeySig: group.linkKeySig },
    proof: sign(signing, requestSigned(link.accountKey, link.token, group))
  } satisfies z.infer<typeof requestSchema>), { signal })
  const answer = decodeCbor((await lp.read({ signal })).subarray(), answerSchema)
  if (answer === undefined) throw new ReplicationError('the replica answered something that is not a replication answer')
  if (!answer.ok) throw new ReplicationError(`the replica refused: ${answer.error ?? 'no reason given'}`)
}

/**
 * Replica side: reads a request (of `protocol`, this version's or an earlier
 * build's) and checks it; `accept` stores the group (it may throw to
 * refuse). Answers the member either way. Nothing of who asked reaches
 * `accept`.
 */
export async function answerReplication (stream: Stream, options: {
  protocol?: string
  /** The replica's account key and access token, as its link carries them. */
  replicaKey: Uint8Array
  token: Uint8Array
  signal: AbortSignal
  accept: (group: ReplicatedGroup) => Promise<void>
}): Promise<void> {
  const { token, signal, accept } = options
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
  const refuse = async (error: string): Promise<void> => { await lp.write(encodeCbor({ ok: false, error }), { signal }) }
  let problem = ''
  const bytes = (await lp.read({ signal })).subarray()
  const legacy = options.protocol === LEGACY_REPLICATION_PROTOCOL
  const request = legacy
    ? decodeCbor(bytes, legacyRequestSchema, (reason) => { problem = reason })
    : decodeCbor(bytes, requestSchema, (reason) => { problem = reason })
  if (request === undefined) return await refuse(`malformed request: ${problem}`)
  // equalBytes compares in constant time.
  if (!equalBytes(request.token, token)) return await refuse('wrong access token: use this replica\'s current link')
  if (!verifySignature(request.group.pk, request.group.linkKey, request.group.linkKeySig)) return await refuse('the link key is not signed by the group key')
  if ('proof' in request) {
    if (!verifySignature(request.group.signPub, requestSigned(options.replicaKey, request.token, request.group), request.proof)) {
      return await refuse('the request is not signed by the group\'s signing key')
    }
  } else if (!verifySignature(request.member, legacyRequestSigned(request.token, request.group), request.sig)) {
    return await refuse('the request is not signed by the member')
  }
  try {
    await accept(request.group)
  } catch (err) {
    return await refuse((err as Error).message)
  }
  await lp.write(encodeCbor({ ok: true }), { signal })
}
