/**
 * The records the state database (`state-store.ts`) keeps, and the schemas
 * each is checked against when read: a group, a contact, chains, an entry's
 * status, a replicated group, the listen ports. Changing one changes what is
 * on disk: bump `STATE_FORMAT` then, or read the old shape too.
 */
import { z } from 'zod'
import { KEY_SIZE } from './crypto.ts'
import type { GroupKind } from './group-keys.ts'
import { bytes, publicKeyBytes, secretBytes, signatureBytes, uint } from './schemas.ts'

export const groupRecordSchema = z.object({
  kind: z.enum(['multi-member', 'contact']),
  pk: publicKeyBytes,
  secret: secretBytes,
  secretSig: signatureBytes.optional(),
  linkKeySig: signatureBytes.optional(),
  name: z.string(),
  hints: z.array(z.string()),
  joinedAt: uint,
  contact: publicKeyBytes.optional()
})

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
export const entryStatusSchema = z.enum(['handled', 'own', 'history', 'dropped', 'waiting'])
export const replicatedGroupSchema = z.object({ pk: publicKeyBytes, signPub: publicKeyBytes, linkKey: bytes(32), linkKeySig: signatureBytes })

/** A record as CBOR keeps it: fields left undefined are left out. */
export function stripUndefined<T extends object> (value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}
