/**
 * A group's keys (WESH.md §2.2) and the invitation that carries them.
 *
 * - `publicKey`: the group id, an Ed25519 public key.
 * - `secret`: 32 bytes; the secretbox key of metadata events and message
 *   headers, and the seed of the signing key.
 * - `signing`: the key every log entry is signed with; only holders of the
 *   secret can append, anyone with its public half can verify.
 * - `linkKey`: HKDF-SHA3-256(secret, info = publicKey), given to replicas.
 */
import { z } from 'zod'
import {
  hkdfSha256, hkdfSha3, sign, signingKeyPairFromSeed, generateSigningKeyPair, toX25519PublicKey,
  toX25519SecretKey, verifySignature, x25519Agreement, KEY_SIZE, concatBytes, type SigningKeyPair
} from './crypto.ts'
import { keyToId } from './encoding.ts'
import { InvalidLinkError } from './errors.ts'
import { signInitialAdmins, type InitialAdmins } from './epoch-envelope.ts'
import { decodeLink, encodeLink } from './link.ts'
import { publicKeyBytes, secretBytes, signatureBytes } from './schemas.ts'

export type GroupKind = 'multi-member' | 'contact'

export interface GroupKeys {
  readonly kind: GroupKind
  readonly publicKey: Uint8Array
  readonly secret: Uint8Array
  readonly signing: SigningKeyPair
  readonly linkKey: Uint8Array
  /** Multi-member groups only: the group key's signatures of the secret and the link key. */
  readonly secretSig?: Uint8Array
  readonly linkKeySig?: Uint8Array
}

/** Wesh `ComputeLinkKey`. */
export function computeLinkKey (secret: Uint8Array, groupPublicKey: Uint8Array): Uint8Array {
  return hkdfSha3(secret, undefined, groupPublicKey, KEY_SIZE)
}

function keysFrom (kind: GroupKind, publicKey: Uint8Array, secret: Uint8Array, sigs: { secretSig?: Uint8Array, linkKeySig?: Uint8Array }): GroupKeys {
  return {
    kind,
    publicKey,
    secret,
    signing: signingKeyPairFromSeed(secret),
    linkKey: computeLinkKey(secret, publicKey),
    ...sigs
  }
}

/**
 * A fresh multi-member group (Wesh `NewGroupMultiMember`): random group key,
 * random secret; the group key signs the secret and the link key, then is
 * forgotten, so an invitation cannot be forged with a mismatched secret.
 */
export function createMultiMemberGroupKeys (): GroupKeys {
  return createEpoch().keys
}

/**
 * The keys of a new group, or of a group's new epoch (a removal makes one):
 * made as a new group's are, the group key also signing the epoch's genesis
 * (its first admins and members, `genesis`) before it is forgotten, so that
 * nobody can sign another one later.
 */
export function createEpoch (genesis?: Omit<InitialAdmins, 'gs'>): { keys: GroupKeys, genesis: InitialAdmins | undefined } {
  const groupKey = generateSigningKeyPair()
  const signing = generateSigningKeyPair()
  const secret = signing.seed
  const linkKey = computeLinkKey(secret, groupKey.publicKey)
  const keys = keysFrom('multi-member', groupKey.publicKey, secret, {
    secretSig: sign(groupKey, secret),
    linkKeySig: sign(groupKey, linkKey)
  })
  return { keys, genesis: genesis === undefined ? undefined : signInitialAdmins(groupKey, genesis) }
}

/**
 * The 1:1 group of two accounts, computed by each side from its own account
 * key and the other's public key, with nothing exchanged (Wesh
 * `getKeysForGroupOfContact`): k = Ed25519 key seeded by X25519(own, contact);
 * HKDF-SHA256(k's 64-byte private key) gives the group key seed, then the secret.
 */
export function deriveContactGroupKeys (ownAccount: SigningKeyPair, contactAccountPublicKey: Uint8Array): GroupKeys {
  const shared = x25519Agreement(toX25519SecretKey(ownAccount.seed), toX25519PublicKey(contactAccountPublicKey))
  const k = signingKeyPairFromSeed(shared)
  const okm = hkdfSha256(concatBytes(k.seed, k.publicKey), undefined, undefined, 2 * KEY_SIZE)
  const groupKey = signingKeyPairFromSeed(okm.slice(0, KEY_SIZE))
  const secret = okm.slice(KEY_SIZE)
  // Both sides hold the group key, so the link key can be vouched for, as replicas require.
  return keysFrom('contact', groupKey.publicKey, secret, { linkKeySig: sign(groupKey, computeLinkKey(secret, groupKey.publicKey)) })
}

/** Rebuilds keys from stored or received parts, checking a multi-member group's signatures. */
export function groupKeysFromParts (parts: { kind: GroupKind, publicKey: Uint8Array, secret: Uint8Array, secretSig?: Uint8Array | undefined, linkKeySig?: Uint8Array | undefined }): GroupKeys | undefined {
  const sigs: { secretSig?: Uint8Array, linkKeySig?: Uint8Array } = {}
  if (parts.secretSig !== undefined) sigs.secretSig = parts.secretSig
  if (parts.linkKeySig !== undefined) sigs.linkKeySig = parts.linkKeySig
  const keys = keysFrom(parts.kind, parts.publicKey, parts.secret, sigs)
  if (keys.kind === 'multi-member') {
    if (keys.secretSig === undefined || keys.linkKeySig === undefined) return undefined
    if (!verifySignature(keys.publicKey, keys.secret, keys.secretSig)) return undefined
    if (!verifySignature(keys.publicKey, keys.linkKey, keys.linkKeySig)) return undefined
  }
  return keys
}

export function groupId (keys: Pick<GroupKeys, 'publicKey'>): string {
  return keyToId(keys.publicKey)
}

const invitationSchema = z.object({
  pk: publicKeyBytes,
  secret: secretBytes,
  secretSig: signatureBytes,
  linkKeySig: signatureBytes,
  name: z.string().max(200),
  /** The inviter's multiaddrs at the time of the invitation, as dialing hints. */
  hints: z.array(z.string().max(1024)).max(32),
  /** The group's id, when the keys are those of a later epoch (after a removal). */
  root: publicKeyBytes.optional()
})

export interface Invitation {
  /** The keys of the group's current epoch. */
  keys: GroupKeys
  name: string
  hints: string[]
  /** The group's id, when `keys` are a later epoch's than the group's first. */
  root?: Uint8Array | undefined
}

export function encodeInvitation (invitation: Invitation): string {
  const { keys } = invitation
  if (keys.kind !== 'multi-member' || keys.secretSig === undefined || keys.linkKeySig === undefined) {
    throw new TypeError('only multi-member groups have invitations')
  }
  return encodeLink('group', {
    pk: keys.publicKey,
    secret: keys.secret,
    secretSig: keys.secretSig,
    linkKeySig: keys.linkKeySig,
    name: invitation.name,
    hints: invitation.hints,
    ...(invitation.root === undefined ? {} : { root: invitation.root })
  } satisfies z.infer<typeof invitationSchema>)
}

/** Parses an invitation; throws `InvalidLinkError` with the reason when it cannot be used. */
export function decodeInvitation (link: string): Invitation {
  const body = decodeLink(link, 'group', invitationSchema)
  const keys = groupKeysFromParts({ kind: 'multi-member', publicKey: body.pk, secret: body.secret, secretSig: body.secretSig, linkKeySig: body.linkKeySig })
  if (keys === undefined) {
    throw new InvalidLinkError('tampered', 'group invitation was tampered with: its secret is not signed by its group key')
  }
  return { keys, name: body.name, hints: body.hints, root: body.root }
}
