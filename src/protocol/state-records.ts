/**
 * The records the state database (`state-store.ts`) keeps, and the schemas
 * each is checked against when read: a group, a contact, chains, an entry's
 * status, a replicated group, the listen ports. Changing one changes what is
 * on disk: bump `STATE_FORMAT` then, or read the old shape too.
 */
import type { AbstractSublevel } from 'abstract-level'
import type { ClassicLevel } from 'classic-level'
import { z } from 'zod'
import { KEY_SIZE } from './crypto.ts'
import { decodeCbor } from './encoding.ts'
import { DataDirectoryError } from './errors.ts'
import { initialAdminsSchema, type InitialAdmins } from './epoch-envelope.ts'
import type { GroupKind } from './group-keys.ts'
import { bytes, publicKeyBytes, secretBytes, signatureBytes, uint } from './schemas.ts'

/** An epoch a group moved to, as a member that moved with it keeps it. */
export const epochRecordSchema = z.object({
  pk: publicKeyBytes,
  secret: secretBytes,
  secretSig: signatureBytes,
  linkKeySig: signatureBytes,
  /** The epoch it follows. */
  parent: publicKeyBytes,
  /** Epochs this peer made: their genesis, to post. */
  genesis: initialAdminsSchema.optional()
})
export type EpochRecord = z.infer<typeof epochRecordSchema>

export const groupRecordSchema = z.object({
  kind: z.enum(['multi-member', 'contact']),
  pk: publicKeyBytes,
  secret: secretBytes,
  secretSig: signatureBytes.optional(),
  linkKeySig: signatureBytes.optional(),
  name: z.string(),
  hints: z.array(z.string()),
  joinedAt: uint,
  contact: publicKeyBytes.optional(),
  root: publicKeyBytes.optional(),
  genesis: initialAdminsSchema.optional(),
  epochs: z.array(epochRecordSchema).max(10_000).optional()
})

/**
 * A group this peer is in. Its keys (`pk`, `secret`, ...) are those of the
 * first epoch the peer held: the group's own, unless it joined after a removal.
 */
export interface GroupRecord {
  kind: GroupKind
  pk: Uint8Array
  secret: Uint8Array
  secretSig?: Uint8Array | undefined
  linkKeySig?: Uint8Array | undefined
  name: string
  hints: string[]
  joinedAt: number
  /** Contact groups: the other account's public key. */
  contact?: Uint8Array | undefined
  /** The group's id (its first epoch's group key), when `pk` is a later epoch's: the peer joined after a removal. */
  root?: Uint8Array | undefined
  /** A group this peer created: the genesis of its first epoch (its first admin), to post. */
  genesis?: InitialAdmins | undefined
  /** The epochs the group moved to since, in the order the peer got them. */
  epochs?: EpochRecord[] | undefined
}

export const contactRecordSchema = z.object({
  pk: publicKeyBytes,
  displayName: z.string(),
  state: z.enum(['outgoing', 'incoming', 'accepted', 'declined', 'refused']),
  message: z.string().optional(),
  hints: z.array(z.string()),
  /** Outgoing requests: the seed of the link they were made from. */
  seed: bytes(32).optional(),
  requestedAt: uint,
  /** Outgoing requests: the responder holds the request. */
  delivered: z.boolean(),
  /** `contactAccepted` was marked handled. */
  announced: z.boolean()
})

export type ContactState = 'outgoing' | 'incoming' | 'accepted' | 'declined' | 'refused'

export interface ContactRecord {
  pk: Uint8Array
  displayName: string
  state: ContactState
  message?: string | undefined
  hints: string[]
  seed?: Uint8Array | undefined
  requestedAt: number
  delivered: boolean
  announced: boolean
}

export const senderChainSchema = z.object({ ck: bytes(KEY_SIZE), c: uint })
/** The id (an entry's hash) of a message sent once under a key (`StateStore.sentOnce`). */
export const sentOnceSchema = z.string().min(1).max(128)
export const receiverChainSchema = z.object({ since: uint, ck: bytes(KEY_SIZE), next: uint, keys: z.array(z.tuple([uint, bytes(KEY_SIZE)])) })

/** What became of a log entry; entries with a status are not looked at again. */
export type EntryStatus =
  | 'handled' // delivered and marked handled by the consumer
  | 'own' // written by this device
  | 'history' // sent before this device could read it
  | 'dropped' // invalid: logged and ignored
  | 'waiting' // its sender's chain key has not reached us; retried when it does

export type LogKind = 'metadata' | 'messages'

export const listenPortsSchema = z.record(z.string().max(1024), z.number().int().min(1).max(65535))
const entryStatusName = z.enum(['handled', 'own', 'history', 'dropped', 'waiting'])
/**
 * An entry's status, alone; or, for a message others may edit or delete only
 * if they wrote it, with its author's account key (`[status, author]`), read
 * when an edit or deletion of it comes. Format 1 wrote statuses alone.
 */
export const entryStatusSchema = z.union([entryStatusName, z.tuple([entryStatusName, publicKeyBytes])])
/** `follows`: the epoch whose log pointed the replica to this one (none for a group a member registered). */
export const replicatedGroupSchema = z.object({ pk: publicKeyBytes, signPub: publicKeyBytes, linkKey: bytes(32), linkKeySig: signatureBytes, follows: publicKeyBytes.optional() })

/** A sublevel of the state database, and one write of a batch to it. */
export type Sublevel = AbstractSublevel<ClassicLevel<string, Uint8Array>, string | Buffer | Uint8Array, string, Uint8Array>
export type StateOp = { type: 'put', sublevel: Sublevel, key: string, value: Uint8Array } | { type: 'del', sublevel: Sublevel, key: string }

/** A record read back, checked against its schema; one that does not fit is a damaged data directory, named by `what`. */
export function decodeRecord<S extends z.ZodType> (value: Uint8Array, schema: S, what: string): z.infer<S> {
  let problem = ''
  const decoded = decodeCbor(value, schema, (reason) => { problem = reason })
  if (decoded === undefined) throw new DataDirectoryError(`${what} is damaged in the state database: ${problem}`)
  return decoded
}

/** A record as CBOR keeps it: fields left undefined are left out. */
export function stripUndefined<T extends object> (value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}
