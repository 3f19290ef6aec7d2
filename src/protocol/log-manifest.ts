/**
 * How a group log looks to OrbitDB: the manifests its address names (written
 * as `orbitdb.open()` with `GroupAccessController` writes them, so a stock
 * OrbitDB peer opens the same address), the names of a group's two logs, an
 * entry's hash as a CID, and an OrbitDB identity that signs with the group's
 * key.
 */
import * as dagCbor from '@ipld/dag-cbor'
import type { Identity } from '@orbitdb/core'
import { base58btc } from 'multiformats/bases/base58'
import * as Block from 'multiformats/block'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { GROUP_ACCESS_CONTROLLER_TYPE } from './access-controller.ts'
import { bytesToHex, sign, type SigningKeyPair } from './crypto.ts'
import { NotRunningError } from './errors.ts'
import { cachedEntrySignatureVerifier } from './log-entry.ts'

/** The peer's blockstore: logs' manifests, and entries stored before they were kept in the state database. */
export interface BlockStore {
  get: (cid: CID) => Promise<Uint8Array | undefined>
  has: (cid: CID) => Promise<boolean>
  put: (cid: CID, bytes: Uint8Array) => Promise<void>
}

/**
 * An OrbitDB identity that signs with a group's signing key, for a member
 * writing with stock OrbitDB (`orbitdb.open(address, { Database })` with a
 * factory that substitutes it); given only the public key, it verifies.
 */
export function groupIdentity (signing: SigningKeyPair | { publicKey: Uint8Array }): Identity {
  const publicKey = bytesToHex(signing.publicKey)
  return {
    id: publicKey,
    publicKey,
    hash: publicKey,
    type: 'bertybot-group',
    sign: async (_identity, data) => {
      if (!('seed' in signing)) throw new NotRunningError('this peer holds no key to write to this log')
      return bytesToHex(sign(signing, data))
    },
    verify: cachedEntrySignatureVerifier()
  }
}

export function cidOf (hash: string): CID {
  return CID.parse(hash, base58btc)
}

/**
 * Writes a log's manifest and its access controller's manifest to the
 * blockstore, if they are not there, exactly as `orbitdb.open()` with
 * `GroupAccessController` would; returns the log's address.
 */
export async function storeManifests (blocks: BlockStore, name: string, signingKeyHex: string): Promise<string> {
  const controller = await Block.encode({ value: { type: GROUP_ACCESS_CONTROLLER_TYPE, signingKey: signingKeyHex }, codec: dagCbor, hasher: sha256 })
  const manifest = await Block.encode({
    value: { name, type: 'events', accessController: `/${GROUP_ACCESS_CONTROLLER_TYPE}/${controller.cid.toString(base58btc)}` },
    codec: dagCbor,
    hasher: sha256
  })
  for (const block of [controller, manifest]) {
    if (!await blocks.has(block.cid)) await blocks.put(block.cid, block.bytes)
  }
  return `/orbitdb/${manifest.cid.toString(base58btc)}`
}

/** The names of a group's two logs (Wesh names stores `<hex group key>_<store>`). */
export function groupLogName (groupKey: Uint8Array, store: 'metadata' | 'messages'): string {
  return `${bytesToHex(groupKey)}_bertybot_group_${store}`
}
