// @orbitdb/core 4 ships no type declarations: these describe the parts bertybot uses,
// read from its source (src/oplog/*.js, src/storage/*.js, src/orbitdb.js).
declare module '@orbitdb/core' {
  import type { EventEmitter } from 'node:events'

  export interface Clock { id: string, time: number }

  /** A log entry as OrbitDB decodes it; `hash` is the base58btc CID of its bytes. */
  export interface LogEntry<P = unknown> {
    id: string
    payload: P
    next: string[]
    refs: string[]
    clock: Clock
    v: number
    key: string
    identity: string
    sig: string
    hash?: string
    _payload?: unknown
  }

  export interface Identity {
    id: string
    publicKey: string
    hash: string
    type: string
    signatures?: { id: string, publicKey: string }
    sign: (identity: Identity, data: Uint8Array) => Promise<string>
    verify: (signature: string, publicKey: string, data: Uint8Array) => Promise<boolean>
  }

  export interface Storage {
    put: (hash: string, data: any) => Promise<void>
    get: (hash: string) => Promise<any>
    del: (hash: string) => Promise<void>
    iterator: (options?: { amount?: number, reverse?: boolean }) => AsyncIterable<[string, any]>
    merge: (other: Storage) => Promise<void>
    clear: () => Promise<void>
    close: () => Promise<void>
    persist?: (hash: string) => Promise<void>
  }

  export interface AccessController {
    type: string
    address: string
    canAppend: (entry: LogEntry) => Promise<boolean>
    close?: () => Promise<void>
    drop?: () => Promise<void>
  }

  export interface AccessControllerFactoryParams {
    orbitdb: { open: unknown, identity: Identity, ipfs: any }
    identities: unknown
    address?: string
    name?: string
  }

  export type AccessControllerFactory = ((params: AccessControllerFactoryParams) => Promise<AccessController>) & { type?: string }

  export interface Log {
    id: string
    heads: () => Promise<LogEntry[]>
    get: (hash: string) => Promise<LogEntry | undefined>
    has: (hash: string) => Promise<boolean>
    append: (payload: unknown, options?: { referencesCount?: number }) => Promise<LogEntry & { hash: string }>
    joinEntry: (entry: LogEntry) => Promise<boolean>
    values: () => Promise<LogEntry[]>
    iterator: (options?: { amount?: number }) => AsyncIterable<LogEntry>
    clear: () => Promise<void>
    close: () => Promise<void>
    storage: Storage
    access: AccessController
    identity: Identity
  }

  export interface LogOptions {
    logId?: string
    access?: AccessController
    entryStorage?: Storage
    headsStorage?: Storage
    indexStorage?: Storage
    encryption?: unknown
  }

  export function Log (identity: Identity, options?: LogOptions): Promise<Log>

  export const Entry: {
    decode: (bytes: Uint8Array) => Promise<LogEntry & { hash: string }>
    verify: (verifier: { verify: Identity['verify'] }, entry: LogEntry) => Promise<boolean>
    encode: (entry: LogEntry) => Promise<{ hash: string, bytes: Uint8Array }>
  }

  export interface DatabaseFactoryParams {
    ipfs: any
    identity: Identity
    address: string
    name: string
    access: AccessController
    directory: string
    meta?: unknown
    syncAutomatically?: boolean
  }

  export interface Database {
    type: string
    address: string
    name: string
    events: EventEmitter
    log: Log
    close: () => Promise<void>
    drop: () => Promise<void>
    add: (value: any) => Promise<string>
    all: () => Promise<Array<{ hash: string, value: unknown }>>
    access: AccessController
    peers: Set<string>
  }

  export type DatabaseFactory = (params: DatabaseFactoryParams) => Promise<Database>

  export interface OpenOptions {
    type?: string
    meta?: unknown
    sync?: boolean
    Database?: DatabaseFactory
    AccessController?: AccessControllerFactory
    signal?: AbortSignal
  }

  export interface OrbitDB {
    id: string
    open: (address: string, options?: OpenOptions) => Promise<Database>
    stop: () => Promise<void>
    ipfs: any
    directory: string
    identity: Identity
  }

  /** OrbitDB's stock events database type: `Events()` returns its factory. */
  export function Events (): DatabaseFactory

  export function createOrbitDB (options: { ipfs: any, id?: string, directory?: string }): Promise<OrbitDB>
  /** Registers an access controller by its `type`: a function of options returning a factory. */
  export function useAccessController (controller: ((options?: any) => (params: AccessControllerFactoryParams) => Promise<AccessController>) & { type: string }): void
  export function IPFSBlockStorage (options: { ipfs: any, pin?: boolean, timeout?: number }): Promise<Storage>
  export function LRUStorage (options?: { size?: number }): Promise<Storage>
  export function ComposedStorage (a: Storage, b: Storage): Promise<Storage>
  export function MemoryStorage (): Promise<Storage>
  export function isValidAddress (address: string): boolean
  export function parseAddress (address: string): { hash: string, path: string }
}
