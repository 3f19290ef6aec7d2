/**
 * The shareable contact (WESH.md §2.6): account public key, the 32-byte
 * rendezvous seed, a display name and, as dialing hints, the peer's current
 * multiaddrs, as a `bertybot://contact/...` link.
 *
 * Where Wesh's link is unsigned, ours is signed by the account key: a link
 * whose name, seed or hints were edited is refused as tampered rather than
 * sending a request to an address someone slipped in. A link whose seed was
 * since reset passes this check (it was genuine) and is refused by its owner
 * during the handshake.
 *
 * The hints are binary multiaddrs (`h`), without the peer id, which is given
 * once (`p`): a link with two addresses is about 310 characters, where the
 * first builds' text multiaddrs, each with the peer id, made 480. Links in
 * that first form (`hints`) are still read.
 */
import { CODE_P2P, multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { z } from 'zod'
import { concatBytes, sign, utf8ToBytes, verifySignature, type SigningKeyPair } from './crypto.ts'
import { encodeCbor } from './encoding.ts'
import { InvalidLinkError } from './errors.ts'
import { decodeLink, encodeLink } from './link.ts'
import { bytes, publicKeyBytes, signatureBytes } from './schemas.ts'

/** Wesh `RendezvousSeedLength`. */
export const RENDEZVOUS_SEED_SIZE = 32
const DOMAIN = utf8ToBytes('bertybot/contact-link/v1')

const MAX_HINTS = 32

const contactLinkSchema = z.object({
  pk: publicKeyBytes,
  seed: bytes(RENDEZVOUS_SEED_SIZE, 'rendezvous seed'),
  name: z.string().max(200),
  sig: signatureBytes
}).and(z.union([
  // Binary multiaddrs, the peer id (its multihash) given once.
  z.object({ h: z.array(bytes().refine((b) => b.length <= 512, 'hint too long')).max(MAX_HINTS), p: bytes().refine((b) => b.length <= 128, 'peer id too long').optional() }),
  // As the first builds wrote them: text multiaddrs, each with its /p2p/ part.
  z.object({ hints: z.array(z.string().max(1024)).max(MAX_HINTS) })
]))

export interface ContactLink {
  readonly accountKey: Uint8Array
  readonly seed: Uint8Array
  readonly displayName: string
  readonly hints: string[]
}

type HintFields = { h: Uint8Array[], p?: Uint8Array } | { hints: string[] }

function signedPart (accountKey: Uint8Array, seed: Uint8Array, displayName: string, hints: HintFields): Uint8Array {
  return concatBytes(DOMAIN, accountKey, seed, encodeCbor({ name: displayName, ...hints }))
}

/** The peer id a multiaddr ends with (`.../p2p/<id>`), if it does. */
function trailingPeerId (address: Multiaddr): string | undefined {
  const last = address.getComponents().at(-1)
  return last?.name === 'p2p' ? last.value : undefined
}

/** Hints in binary, the peer id they all end with taken out and given once. */
function compactHints (hints: string[]): { h: Uint8Array[], p?: Uint8Array } {
  const addresses = [...new Set(hints)].slice(0, MAX_HINTS).map((hint) => multiaddr(hint))
  const ids = new Set(addresses.map(trailingPeerId))
  const [id] = ids
  if (ids.size !== 1 || id === undefined) return { h: addresses.map((a) => a.bytes) }
  return { h: addresses.map((a) => a.decapsulateCode(CODE_P2P).bytes), p: peerIdFromString(id).toMultihash().bytes }
}

function expandHints (fields: HintFields): string[] {
  if ('hints' in fields) return fields.hints
  const id = fields.p === undefined ? undefined : peerIdFromMultihash(Digest.decode(fields.p)).toString()
  return fields.h.map((bytes) => {
    const address = multiaddr(bytes)
    return id === undefined || trailingPeerId(address) !== undefined ? address.toString() : address.encapsulate(`/p2p/${id}`).toString()
  })
}

export function encodeContactLink (account: SigningKeyPair, seed: Uint8Array, displayName: string, hints: string[]): string {
  const compact = compactHints(hints)
  return encodeLink('contact', {
    pk: account.publicKey,
    seed,
    name: displayName,
    ...compact,
    sig: sign(account, signedPart(account.publicKey, seed, displayName, compact))
  } satisfies z.infer<typeof contactLinkSchema>)
}

/** Parses a contact link; throws `InvalidLinkError` saying why it cannot be used. */
export function decodeContactLink (link: string): ContactLink {
  const body = decodeLink(link, 'contact', contactLinkSchema)
  const fields: HintFields = 'hints' in body ? { hints: body.hints } : { h: body.h, ...(body.p === undefined ? {} : { p: body.p }) }
  if (!verifySignature(body.pk, signedPart(body.pk, body.seed, body.name, fields), body.sig)) {
    throw new InvalidLinkError('tampered', 'contact link was tampered with: it is not signed by its account')
  }
  let hints: string[]
  try {
    hints = expandHints(fields)
  } catch (err) {
    throw new InvalidLinkError('malformed', `contact link is malformed: a dialing hint does not decode (${(err as Error).message})`)
  }
  return { accountKey: body.pk, seed: body.seed, displayName: body.name, hints }
}
