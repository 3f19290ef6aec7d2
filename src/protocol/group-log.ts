/**
 * A group log: an OrbitDB events log whose entries are signed with the
 * group's signing key rather than the OrbitDB instance's identity, synced by
 * our `LogSync`, with its heads and index kept in the peer's state database.
 *
 * It plugs into `orbitdb.open(name, { Database })`, so the manifest, the
 * address and the access controller are OrbitDB's own: a stock OrbitDB peer
 * opening the same address sees an ordinary events log of opaque bytes.
 */
import { EventEmitter } from 'node:events'
import {
  ComposedStorage, IPFSBlockStorage, LRUStorage, Log,
  type Database, type DatabaseFactory, type Identity, type LogEntry, type OrbitDB, type Storage
} from '@orbitdb/core'
import PQueue from 'p-queue'
import { bytesToHex, sign, type SigningKeyPair } from './crypto.ts'
import { cachedEntrySignatureVerifier, groupPayload } from './log-entry.ts'
import type { LogSync } from './log-sync.ts'
import type { StateStore } from './state-store.ts'
import { GroupAccessController } from './access-controller.ts'

/** How far back each entry points (OrbitDB's default): lets a peer fetch a long history in parallel. */
const REFERENCES_COUNT = 16

export interface GroupLog extends Database {
  /** Appends `value` (already sealed) and returns the entry's hash, which is the message id. */
  add: (value: Uint8Array) => Promise<string>
}

/**
 * An OrbitDB identity that signs with the group's signing key and keeps it off
 * disk; given only the public key (a replica), it verifies and cannot sign.
 */
export function groupIdentity (signing: SigningKeyPair | { publicKey: Uint8Array }): Identity {
  const publicKey = bytesToHex(signing.publicKey)
  return {
    id: publicKey,
    publicKey,
    hash: publicKey,
    type: 'bertybot-group',
    sign: async (_identity, data) => {
      if (!('seed' in signing)) throw new Error('this peer holds no key to write to this log')
      return bytesToHex(sign(signing, data))
    },
    verify: cachedEntrySignatureVerifier()
  }
}

/** An OrbitDB `Storage` over a key range of the state database. */
function stateStorage (state: StateStore, prefix: string): Storage {
  const range = { gte: prefix, lt: prefix + '\xff' }
  return {
    put: async (key, value) => {
      // OrbitDB's index stores `true`; everything else it stores is bytes.
      await state.logs.put(prefix + key, value instanceof Uint8Array ? value : Uint8Array.of(1))
    },
    get: async (key) => await state.logs.get(prefix + key),
    del: async (key) => { await state.logs.del(prefix + key) },
    iterator: async function * ({ amount, reverse } = {}) {
      for await (const [key, value] of state.logs.iterator({ ...range, limit: amount ?? -1, reverse: reverse ?? false })) {
        yield [key.slice(prefix.length), value]
      }
    },
    merge: async () => {},
    clear: async () => { await state.logs.clear(range) },
    close: async () => {}
  }
}

export interface GroupLogOptions {
  /** The group's signing key; a replica, which only verifies, has the public half. */
  signing: SigningKeyPair | { publicKey: Uint8Array }
  state: StateStore
  sync: LogSync
}

export function groupLogDatabase ({ signing, state, sync }: GroupLogOptions): DatabaseFactory {
  return async ({ ipfs, address, name, access, meta }) => {
    const identity = groupIdentity(signing)
    const entryStorage = await ComposedStorage(await LRUStorage({ size: 1000 }), await IPFSBlockStorage({ ipfs, pin: true }))
    // An LRU in front of each store, as OrbitDB's own Database has: joining an entry checks
    // the index for every entry it points to.
    const log = await Log(identity, {
      logId: address,
      access,
      entryStorage,
      headsStorage: await ComposedStorage(await LRUStorage({ size: 1000 }), stateStorage(state, `${address}/heads/`)),
      indexStorage: await ComposedStorage(await LRUStorage({ size: 1000 }), stateStorage(state, `${address}/index/`))
    })
    const events = new EventEmitter()
    // Appends and joins one at a time, in call order, as OrbitDB's own Database does.
    const queue = new PQueue({ concurrency: 1 })
    let closed = false

    const add = async (value: Uint8Array): Promise<string> => await queue.add(async () => {
      const entry = await log.append(groupPayload(value), { referencesCount: REFERENCES_COUNT })
      const bytes: unknown = await log.storage.get(entry.hash)
      if (bytes instanceof Uint8Array) await sync.publish(address, bytes)
      events.emit('update', entry)
      return entry.hash
    })

    const join = async (entry: LogEntry): Promise<void> => {
      await queue.add(async () => {
        if (closed) return
        if (await log.joinEntry(entry)) events.emit('update', entry)
      })
    }

    sync.register(address, { log, join })

    const close = async (): Promise<void> => {
      if (closed) return
      closed = true
      sync.unregister(address)
      await queue.onIdle()
      await log.close()
      await access.close?.()
      events.emit('close')
    }

    const drop = async (): Promise<void> => {
      queue.clear()
      await log.clear()
      await access.drop?.()
      events.emit('drop')
    }

    const database: GroupLog = {
      type: 'events',
      address,
      name,
      meta,
      identity,
      log,
      events,
      access,
      add,
      all: async () => (await log.values()).map((e) => ({ hash: e.hash ?? '', value: (e.payload as { value?: unknown }).value })),
      close,
      drop,
      peers: new Set<string>()
    } as GroupLog
    return database
  }
}

/**
 * Opens a group's two logs. Their names and access controller depend only on
 * the group key and the signing key, so every member and replica computes the
 * same addresses without fetching anything (Wesh names: `<hex group key>_<store>`).
 */
export async function openGroupLogs (orbitdb: OrbitDB, options: GroupLogOptions & { groupKey: Uint8Array }): Promise<{ metadata: GroupLog, messages: GroupLog }> {
  const prefix = bytesToHex(options.groupKey)
  const open = async (store: 'metadata' | 'messages'): Promise<GroupLog> => await orbitdb.open(`${prefix}_bertybot_group_${store}`, {
    type: 'events',
    AccessController: GroupAccessController({ signingKey: bytesToHex(options.signing.publicKey) }),
    Database: groupLogDatabase(options)
  }) as GroupLog
  return { metadata: await open('metadata'), messages: await open('messages') }
}
