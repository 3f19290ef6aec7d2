/**
 * Links people paste and scan: group invitations now, contact links next.
 *
 *   bertybot://<kind>/<base58btc(version ‖ CBOR body ‖ checksum)>
 *
 * base58 has no character that chat apps, terminals or URL parsers mangle; the
 * 4-byte checksum (SHA-256 of version ‖ body) tells a damaged or truncated link
 * from a forged one, whose checksum is right but whose signatures are not.
 */
import { base58btc } from 'multiformats/bases/base58'
import type { z } from 'zod'
import { concatBytes, equalBytes, sha256 } from './crypto.ts'
import { decodeCbor, encodeCbor } from './encoding.ts'
import { InvalidLinkError } from './errors.ts'

export const LINK_SCHEME = 'bertybot:'
export const LINK_VERSION = 1
const CHECKSUM_SIZE = 4

export type LinkKind = 'group' | 'contact' | 'replica'

export function encodeLink (kind: LinkKind, body: unknown): string {
  const versioned = concatBytes(Uint8Array.of(LINK_VERSION), encodeCbor(body))
  const data = concatBytes(versioned, sha256(versioned).subarray(0, CHECKSUM_SIZE))
  // base58btc.encode prefixes the multibase code 'z'; the link carries the bare alphabet.
  return `${LINK_SCHEME}//${kind}/${base58btc.baseEncode(data)}`
}

/** Decodes a link of `kind` and validates its body; throws `InvalidLinkError` saying what is wrong. */
export function decodeLink<S extends z.ZodType> (link: string, kind: LinkKind, schema: S): z.infer<S> {
  const what = { group: 'group invitation', contact: 'contact link', replica: 'replica link' }[kind]
  const trimmed = link.trim()
  let url: URL
  try {
    url = new URL(trimmed)
  } catch {
    throw new InvalidLinkError('not-a-link', `not a ${what}: expected a ${LINK_SCHEME}//${kind}/... link`)
  }
  if (url.protocol !== LINK_SCHEME) {
    throw new InvalidLinkError('not-a-link', `not a ${what}: expected a ${LINK_SCHEME}//${kind}/... link, got a ${url.protocol} URL`)
  }
  if (url.host !== kind) {
    throw new InvalidLinkError('wrong-kind', `this is a ${url.host} link, not a ${what}`)
  }
  const encoded = url.pathname.replace(/^\//, '')
  let data: Uint8Array
  try {
    data = base58btc.baseDecode(encoded)
  } catch {
    throw new InvalidLinkError('malformed', `${what} contains characters that are not base58: it was altered when copied`)
  }
  if (data.length < 1 + CHECKSUM_SIZE) {
    throw new InvalidLinkError('damaged', `${what} is truncated: only ${encoded.length} characters`)
  }
  const versioned = data.subarray(0, data.length - CHECKSUM_SIZE)
  const checksum = data.subarray(data.length - CHECKSUM_SIZE)
  if (!equalBytes(sha256(versioned).subarray(0, CHECKSUM_SIZE), checksum)) {
    throw new InvalidLinkError('damaged', `${what} is damaged: its checksum does not match (truncated or altered when copied)`)
  }
  const version = versioned[0]
  if (version !== LINK_VERSION) {
    throw new InvalidLinkError('unsupported-version', `${what} has version ${String(version)}; this bertybot reads version ${LINK_VERSION}: upgrade bertybot`)
  }
  let problem = 'invalid'
  const body = decodeCbor(versioned.subarray(1), schema, (reason) => { problem = reason })
  if (body === undefined) {
    throw new InvalidLinkError('malformed', `${what} is malformed: ${problem}`)
  }
  return body
}
