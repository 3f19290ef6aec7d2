/**
 * `GroupAccessController`: only holders of a group's secret may append to its
 * logs. Each entry must be signed by the group's signing key, whose public
 * half is stored in the controller's manifest block; the controller needs no
 * secret, so any OrbitDB peer can register it and replicate a group's logs
 * (verifying every entry) while reading nothing:
 *
 * ```ts
 * import { useAccessController } from '@orbitdb/core'
 * import { GroupAccessController } from 'bertybot/protocol'
 * useAccessController(GroupAccessController)
 * const db = await orbitdb.open(group.logAddresses.messages)
 * ```
 */
import * as dagCbor from '@ipld/dag-cbor'
import { ComposedStorage, IPFSBlockStorage, LRUStorage, type AccessController, type AccessControllerFactoryParams, type LogEntry } from '@orbitdb/core'
import { base58btc } from 'multiformats/bases/base58'
import * as Block from 'multiformats/block'
import { sha256 } from 'multiformats/hashes/sha2'
import { z } from 'zod'
import { BoundedSet, cachedEntrySignatureVerifier, isValidGroupEntry } from './log-entry.ts'

export const GROUP_ACCESS_CONTROLLER_TYPE = 'bertybot-group'

const manifestSchema = z.object({
  type: z.literal(GROUP_ACCESS_CONTROLLER_TYPE),
  signingKey: z.string().regex(/^[0-9a-f]{64}$/)
})

export interface GroupAccessControllerOptions {
  /** Hex Ed25519 public key of the group's signing key; only when creating a log, not when opening one by address. */
  signingKey?: string
}

export interface GroupAccessControllerInstance extends AccessController {
  readonly signingKey: string
}

/** An OrbitDB access controller factory; register it with `useAccessController(GroupAccessController)`. */
export function GroupAccessController (options: GroupAccessControllerOptions = {}): (params: AccessControllerFactoryParams) => Promise<GroupAccessControllerInstance> {
  return async ({ orbitdb, address }) => {
    const storage = await ComposedStorage(
      await LRUStorage({ size: 100 }),
      await IPFSBlockStorage({ ipfs: orbitdb.ipfs, pin: true })
    )
    let signingKey: string
    if (address !== undefined) {
      const hash = address.split('/').pop() ?? ''
      const bytes: unknown = await storage.get(hash)
      if (!(bytes instanceof Uint8Array)) throw new Error(`access controller manifest ${address} could not be fetched`)
      const { value } = await Block.decode({ bytes, codec: dagCbor, hasher: sha256 })
      const manifest = manifestSchema.safeParse(value)
      if (!manifest.success) throw new Error(`access controller manifest ${address} is not a ${GROUP_ACCESS_CONTROLLER_TYPE} manifest`)
      signingKey = manifest.data.signingKey
    } else {
      if (options.signingKey === undefined) throw new Error('GroupAccessController needs the group signing key to create a log')
      signingKey = options.signingKey
      const manifest: z.infer<typeof manifestSchema> = { type: GROUP_ACCESS_CONTROLLER_TYPE, signingKey }
      const { cid, bytes } = await Block.encode({ value: manifest, codec: dagCbor, hasher: sha256 })
      const hash = cid.toString(base58btc)
      await storage.put(hash, bytes)
      address = `/${GROUP_ACCESS_CONTROLLER_TYPE}/${hash}`
    }

    const verify = cachedEntrySignatureVerifier()
    // Joining an entry re-checks the ~17 entries it points to: remember whole entries already accepted.
    const accepted = new BoundedSet<string>(10_000)
    const canAppend = async (entry: LogEntry): Promise<boolean> => {
      if (entry.hash !== undefined && accepted.has(entry.hash) && entry.key === signingKey) return true
      const ok = await isValidGroupEntry(entry, signingKey, verify)
      if (ok && entry.hash !== undefined) accepted.add(entry.hash)
      return ok
    }

    return {
      type: GROUP_ACCESS_CONTROLLER_TYPE,
      address,
      signingKey,
      canAppend,
      close: async () => { await storage.close() }
    }
  }
}
GroupAccessController.type = GROUP_ACCESS_CONTROLLER_TYPE
