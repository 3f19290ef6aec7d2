/**
 * The contact request handshake (WESH.md §2.6, after Scuttlebutt's secret
 * handshake), over a libp2p stream of `CONTACT_REQUEST_PROTOCOL`, each
 * message length-prefixed CBOR:
 *
 *   1. requester → { e: a }                  ephemeral X25519 keys; both compute ab
 *   2. responder → { e: b }
 *   3. requester → { box }  secretbox(SHA-256(ab ‖ aB), nonce 1‖0…): its account key,
 *      its signature of ab, a proof that it knows the responder's current seed,
 *      its display name, message and addresses
 *   4. responder → { box }  secretbox(SHA-256(ab ‖ AB), nonce 2‖0…): its signature of ab,
 *      or a signed refusal when the seed is not its current one (the link was reset)
 *   5. requester → { ack: true }
 *
 * aB needs the responder's account secret, AB both accounts' secrets: each box
 * can be opened only by the party it is meant for, and each signature of ab
 * proves an account key in this session alone. The seed proof is ours: Wesh
 * reaches a responder only through its rendezvous point, so knowing the seed
 * is implied; we also dial the link's hints directly, so it is checked.
 */
import type { Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { z } from 'zod'
import {
  concatBytes, equalBytes, generateX25519KeyPair, hmacSha256, openSecretbox, sealSecretbox, sha256, sign,
  toX25519PublicKey, toX25519SecretKey, utf8ToBytes, verifySignature, x25519Agreement, NONCE_SIZE, type SigningKeyPair
} from './crypto.ts'
import { decodeCbor, encodeCbor } from './encoding.ts'
import { BertybotError } from './errors.ts'
import { bytes, publicKeyBytes, signatureBytes } from './schemas.ts'

export const CONTACT_REQUEST_PROTOCOL = '/bertybot/contact/1.0.0'
/** Longest message a contact request may carry. */
export const MAX_REQUEST_MESSAGE_LENGTH = 1000
const MAX_FRAME = 16 * 1024

const DOMAIN_REQUESTER = utf8ToBytes('bertybot/handshake/requester/v1')
const DOMAIN_RESPONDER = utf8ToBytes('bertybot/handshake/responder/v1')
const DOMAIN_SEED = utf8ToBytes('bertybot/handshake/seed/v1')

const helloSchema = z.object({ e: publicKeyBytes })
const boxSchema = z.object({ box: bytes() })
const ackSchema = z.object({ ack: z.literal(true) })
const authenticateSchema = z.object({
  pk: publicKeyBytes,
  sig: signatureBytes,
  proof: bytes(32, 'seed proof'),
  name: z.string().max(200),
  message: z.string().max(MAX_REQUEST_MESSAGE_LENGTH).optional(),
  hints: z.array(z.string().max(1024)).max(32)
})
const answerSchema = z.object({ sig: signatureBytes, refused: z.literal('link-reset').optional() })

export type HandshakeFailure =
  | 'protocol' // a message is malformed or out of order
  | 'not-the-responder' // the peer reached is not the account the link names
  | 'bad-signature' // an account signature does not verify

/** The handshake could not be completed with this peer; `reason` says why. */
export class HandshakeError extends BertybotError {
  readonly reason: HandshakeFailure

  constructor (reason: HandshakeFailure, message: string) {
    super(`ERR_HANDSHAKE_${reason.toUpperCase().replaceAll('-', '_')}`, message)
    this.reason = reason
  }
}

/** What a requester introduces itself with. */
export interface RequestIntroduction {
  displayName: string
  message?: string | undefined
  /** Where the requester can be reached, so the responder can sync their 1:1 group. */
  hints: string[]
}

export interface IncomingRequest extends RequestIntroduction {
  readonly accountKey: Uint8Array
}

function nonce (n: number): Uint8Array {
  const out = new Uint8Array(NONCE_SIZE)
  out[0] = n
  return out
}

async function read<S extends z.ZodType> (lp: ReturnType<typeof lpStream>, schema: S, what: string, signal: AbortSignal): Promise<z.infer<S>> {
  const frame = await lp.read({ signal })
  let problem = ''
  const value = decodeCbor(frame.subarray(), schema, (reason) => { problem = reason })
  if (value === undefined) throw new HandshakeError('protocol', `${what}: ${problem}`)
  return value
}

/**
 * Runs the requester's side. Resolves `'delivered'` once the responder holds
 * the request, `'link-reset'` if it refused the seed; throws `HandshakeError`
 * if the peer is not the responder or breaks the protocol.
 */
export async function requestContact (stream: Stream, options: {
  account: SigningKeyPair
  responder: Uint8Array
  seed: Uint8Array
  introduction: RequestIntroduction
  signal: AbortSignal
}): Promise<'delivered' | 'link-reset'> {
  const { account, responder, seed, introduction, signal } = options
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
  const ephemeral = generateX25519KeyPair()
  await lp.write(encodeCbor({ e: ephemeral.publicKey }), { signal })
  const { e: b } = await read(lp, helloSchema, 'responder hello', signal)
  const ab = x25519Agreement(ephemeral.secretKey, b)
  const aB = x25519Agreement(ephemeral.secretKey, toX25519PublicKey(responder))
  const AB = x25519Agreement(toX25519SecretKey(account.seed), toX25519PublicKey(responder))

  const authenticate: z.infer<typeof authenticateSchema> = {
    pk: account.publicKey,
    sig: sign(account, concatBytes(DOMAIN_REQUESTER, ab)),
    proof: hmacSha256(seed, concatBytes(DOMAIN_SEED, ab)),
    name: introduction.displayName,
    hints: introduction.hints,
    ...(introduction.message === undefined ? {} : { message: introduction.message })
  }
  await lp.write(encodeCbor({ box: sealSecretbox(sha256(concatBytes(ab, aB)), nonce(1), encodeCbor(authenticate)) }), { signal })

  const { box } = await read(lp, boxSchema, 'responder answer', signal)
  const opened = openSecretbox(sha256(concatBytes(ab, AB)), nonce(2), box)
  if (opened === undefined) throw new HandshakeError('not-the-responder', 'the peer reached is not the account of the contact link')
  const answer = decodeCbor(opened, answerSchema)
  if (answer === undefined) throw new HandshakeError('protocol', 'responder answer is malformed')
  if (!verifySignature(responder, concatBytes(DOMAIN_RESPONDER, ab), answer.sig)) {
    throw new HandshakeError('bad-signature', 'responder did not prove its account key')
  }
  if (answer.refused === 'link-reset') return 'link-reset'
  await lp.write(encodeCbor({ ack: true }), { signal })
  return 'delivered'
}

/**
 * Runs the responder's side. `isCurrentSeedProof` checks the requester's seed
 * proof for this session's ab. Resolves with the request once acknowledged,
 * or `undefined` if it was refused for an old seed.
 */
export async function answerContactRequest (stream: Stream, options: {
  account: SigningKeyPair
  seed: Uint8Array
  signal: AbortSignal
}): Promise<IncomingRequest | undefined> {
  const { account, seed, signal } = options
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
  const { e: a } = await read(lp, helloSchema, 'requester hello', signal)
  const ephemeral = generateX25519KeyPair()
  await lp.write(encodeCbor({ e: ephemeral.publicKey }), { signal })
  const ab = x25519Agreement(ephemeral.secretKey, a)
  const aB = x25519Agreement(toX25519SecretKey(account.seed), a)

  const { box } = await read(lp, boxSchema, 'requester authentication', signal)
  const opened = openSecretbox(sha256(concatBytes(ab, aB)), nonce(1), box)
  if (opened === undefined) throw new HandshakeError('protocol', 'requester box does not open: it was not sealed to this account')
  let problem = ''
  const auth = decodeCbor(opened, authenticateSchema, (reason) => { problem = reason })
  if (auth === undefined) throw new HandshakeError('protocol', `requester authentication: ${problem}`)
  if (!verifySignature(auth.pk, concatBytes(DOMAIN_REQUESTER, ab), auth.sig)) {
    throw new HandshakeError('bad-signature', 'requester did not prove its account key')
  }
  const AB = x25519Agreement(toX25519SecretKey(account.seed), toX25519PublicKey(auth.pk))
  const seedOk = equalBytes(auth.proof, hmacSha256(seed, concatBytes(DOMAIN_SEED, ab)))
  const answer: z.infer<typeof answerSchema> = {
    sig: sign(account, concatBytes(DOMAIN_RESPONDER, ab)),
    ...(seedOk ? {} : { refused: 'link-reset' as const })
  }
  await lp.write(encodeCbor({ box: sealSecretbox(sha256(concatBytes(ab, AB)), nonce(2), encodeCbor(answer)) }), { signal })
  if (!seedOk) return undefined
  await read(lp, ackSchema, 'requester acknowledgement', signal)
  return { accountKey: auth.pk, displayName: auth.name, message: auth.message, hints: auth.hints }
}
