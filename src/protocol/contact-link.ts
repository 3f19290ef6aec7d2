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
 */
import { z } from 'zod'
import { concatBytes, sign, utf8ToBytes, verifySignature, type SigningKeyPair } from './crypto.ts'
import { encodeCbor } from './encoding.ts'
import { InvalidLinkError } from './errors.ts'
import { decodeLink, encodeLink } from './link.ts'
import { bytes, publicKeyBytes, signatureBytes } from './schemas.ts'

/** Wesh `RendezvousSeedLength`. */
export const RENDEZVOUS_SEED_SIZE = 32
const DOMAIN = utf8ToBytes('bertybot/contact-link/v1')

const contactLinkSchema = z.object({
  pk: publicKeyBytes,
  seed: bytes(RENDEZVOUS_SEED_SIZE, 'rendezvous seed'),
  name: z.string().max(200),
  hints: z.array(z.string().max(1024)).max(32),
  sig: signatureBytes
})

export interface ContactLink {
  readonly accountKey: Uint8Array
  readonly seed: Uint8Array
  readonly displayName: string
  readonly hints: string[]
}

function signedPart (accountKey: Uint8Array, seed: Uint8Array, displayName: string, hints: string[]): Uint8Array {
  return concatBytes(DOMAIN, accountKey, seed, encodeCbor({ name: displayName, hints }))
}

export function encodeContactLink (account: SigningKeyPair, seed: Uint8Array, displayName: string, hints: string[]): string {
  return encodeLink('contact', {
    pk: account.publicKey,
    seed,
    name: displayName,
    hints,
    sig: sign(account, signedPart(account.publicKey, seed, displayName, hints))
  } satisfies z.infer<typeof contactLinkSchema>)
}

/** Parses a contact link; throws `InvalidLinkError` saying why it cannot be used. */
export function decodeContactLink (link: string): ContactLink {
  const body = decodeLink(link, 'contact', contactLinkSchema)
  if (!verifySignature(body.pk, signedPart(body.pk, body.seed, body.name, body.hints), body.sig)) {
    throw new InvalidLinkError('tampered', 'contact link was tampered with: it is not signed by its account')
  }
  return { accountKey: body.pk, seed: body.seed, displayName: body.name, hints: body.hints }
}
