/**
 * What the metadata log says about who may do what, and about epochs: the
 * bodies of the events that carry roles and removals (the metadata event
 * around them is `envelope.ts`'s, sealed with the group secret and signed by
 * the author's device), and the two boxes of a new epoch: its secret sealed
 * to each remaining member, and its public parts sealed with the link key
 * for replicas.
 *
 * - `InitialAdmins` (Wesh 302, MultiMemberGroupInitialMemberAnnounced): an
 *   epoch's first admins and members, signed by the epoch's group key, which
 *   is forgotten right after (as Wesh forgets a new group's key): nobody can
 *   forge it later.
 * - `AdminRoleGranted` (Wesh 303) and `AdminRoleRevoked` (ours): by an admin.
 * - `EpochStarted` (ours): by an admin (or by a member leaving, who names only
 *   itself): who leaves, who stays, the new epoch's keys for those who stay,
 *   and where the old message log stood (its heads), so that what a removed
 *   member writes to the old log afterwards is told apart.
 */
import { z } from 'zod'
import { concatBytes, hkdfSha256, openAead, openAeadWithNonce, randomBytes, sealAead, sealAeadWithNonce, sign, toX25519PublicKey, toX25519SecretKey, utf8ToBytes, verifySignature, x25519Agreement, KEY_SIZE, NONCE_SIZE, type SigningKeyPair } from './crypto.ts'
import { decodeCbor, encodeCbor } from './encoding.ts'
import { bytes, nonceBytes, publicKeyBytes, signatureBytes } from './schemas.ts'

const DOMAIN_GENESIS = utf8ToBytes('bertybot/epoch-genesis/v1')
const DOMAIN_EPOCH_SECRET = utf8ToBytes('bertybot/epoch-secret/v1')
const DOMAIN_EPOCH_POINTER = utf8ToBytes('bertybot/epoch-pointer/v1')

/** Accounts one event names at most: a group's members, with room. */
export const MAX_LISTED_ACCOUNTS = 1024
/** How much of a member's key names its box among an epoch's boxes. */
const RECIPIENT_PREFIX = 8

const accounts = (min = 0): z.ZodArray<z.ZodType<Uint8Array>> => z.array(publicKeyBytes).min(min).max(MAX_LISTED_ACCOUNTS)
const entryHash = z.string().min(1).max(128)

/** An epoch's first admins (`a`) and members (`m`), and the epoch it follows (`p`, none for a new group). */
export const initialAdminsSchema = z.object({ a: accounts(), m: accounts(1), p: publicKeyBytes.optional(), gs: signatureBytes })
export type InitialAdmins = z.infer<typeof initialAdminsSchema>

export const roleChangeSchema = z.object({ m: publicKeyBytes })

const sealedSecretsSchema = z.object({
  n: nonceBytes,
  k: z.array(z.tuple([bytes(RECIPIENT_PREFIX, 'recipient'), bytes(KEY_SIZE + 16, 'epoch secret box')])).max(MAX_LISTED_ACCOUNTS)
})

/**
 * A new epoch: `r` leave it (removed, or leaving themselves); `g` is its
 * genesis (its admins, the members who stay, signed by its group key), so
 * that those who move in know both at once; `pk`, `ss` and `ls` are its group
 * key and that key's signatures of its secret and link key; `k` its secret
 * sealed to each member who stays; `c` the heads of the old message log when
 * it was made.
 */
export const epochStartedSchema = z.object({
  r: accounts(1),
  g: initialAdminsSchema,
  pk: publicKeyBytes,
  ss: signatureBytes,
  ls: signatureBytes,
  k: sealedSecretsSchema,
  c: z.array(entryHash).max(256)
})
export type EpochStarted = z.infer<typeof epochStartedSchema>

function genesisSigned (epochKey: Uint8Array, body: Omit<InitialAdmins, 'gs'>): Uint8Array {
  return concatBytes(DOMAIN_GENESIS, epochKey, encodeCbor(body.p === undefined ? { a: body.a, m: body.m } : { a: body.a, m: body.m, p: body.p }))
}

/** The genesis of an epoch, signed by its group key (which the caller then forgets). */
export function signInitialAdmins (groupKey: SigningKeyPair, body: Omit<InitialAdmins, 'gs'>): InitialAdmins {
  return { ...body, gs: sign(groupKey, genesisSigned(groupKey.publicKey, body)) }
}

export function verifyInitialAdmins (epochKey: Uint8Array, body: InitialAdmins): boolean {
  return verifySignature(epochKey, genesisSigned(epochKey, body), body.gs)
}

function secretBoxKey (ownSeed: Uint8Array, otherPublicKey: Uint8Array, oldEpochKey: Uint8Array): Uint8Array {
  const shared = x25519Agreement(toX25519SecretKey(ownSeed), toX25519PublicKey(otherPublicKey))
  return hkdfSha256(shared, oldEpochKey, DOMAIN_EPOCH_SECRET, KEY_SIZE)
}

function secretBoxData (oldEpochKey: Uint8Array, newEpochKey: Uint8Array, device: Uint8Array, member: Uint8Array): Uint8Array {
  return concatBytes(oldEpochKey, newEpochKey, device, member)
}

/**
 * Seals a new epoch's secret to each of `members` (their account keys), as
 * chain keys are sealed: one random nonce, and for each member a box keyed by
 * the author device's agreement with that member's account key.
 */
export function sealEpochSecret (device: SigningKeyPair, members: Uint8Array[], oldEpochKey: Uint8Array, newEpochKey: Uint8Array, secret: Uint8Array): EpochStarted['k'] {
  const n = randomBytes(NONCE_SIZE)
  return {
    n,
    k: members.map((member) => [
      member.subarray(0, RECIPIENT_PREFIX),
      sealAeadWithNonce(secretBoxKey(device.seed, member, oldEpochKey), n, secret, secretBoxData(oldEpochKey, newEpochKey, device.publicKey, member))
    ])
  }
}

/** Opens the box of `sealed` meant for `member`, if there is one: the new epoch's secret. */
export function openEpochSecret (member: SigningKeyPair, device: Uint8Array, oldEpochKey: Uint8Array, newEpochKey: Uint8Array, sealed: EpochStarted['k']): Uint8Array | undefined {
  const prefix = member.publicKey.subarray(0, RECIPIENT_PREFIX)
  for (const [to, box] of sealed.k) {
    if (!to.every((byte, i) => byte === prefix[i])) continue
    const secret = openAeadWithNonce(secretBoxKey(member.seed, device, oldEpochKey), sealed.n, box, secretBoxData(oldEpochKey, newEpochKey, device, member.publicKey))
    if (secret?.length === KEY_SIZE) return secret
  }
  return undefined
}

/** What a replica is told of a new epoch: what it is given of a group when a member registers one. */
export interface EpochPointer {
  readonly pk: Uint8Array
  readonly signPub: Uint8Array
  readonly linkKey: Uint8Array
  readonly linkKeySig: Uint8Array
}

const pointerSchema = z.object({ pk: publicKeyBytes, sp: publicKeyBytes, lk: bytes(KEY_SIZE, 'link key'), ls: signatureBytes })

/**
 * The new epoch's public parts, sealed with the old epoch's link key: it rides
 * outside the secret's seal in the entry that starts the epoch, so that a
 * replica of the old logs, which holds the link key and not the secret,
 * follows to the new ones.
 */
export function sealEpochPointer (oldLinkKey: Uint8Array, oldEpochKey: Uint8Array, pointer: EpochPointer): Uint8Array {
  return sealAead(oldLinkKey, encodeCbor({ pk: pointer.pk, sp: pointer.signPub, lk: pointer.linkKey, ls: pointer.linkKeySig }), concatBytes(DOMAIN_EPOCH_POINTER, oldEpochKey))
}

/** Opens a pointer and checks that the new group key signed the new link key; `undefined` otherwise. */
export function openEpochPointer (oldLinkKey: Uint8Array, oldEpochKey: Uint8Array, sealed: Uint8Array): EpochPointer | undefined {
  const plain = openAead(oldLinkKey, sealed, concatBytes(DOMAIN_EPOCH_POINTER, oldEpochKey))
  if (plain === undefined) return undefined
  const body = decodeCbor(plain, pointerSchema)
  if (body === undefined || !verifySignature(body.pk, body.lk, body.ls)) return undefined
  return { pk: body.pk, signPub: body.sp, linkKey: body.lk, linkKeySig: body.ls }
}
