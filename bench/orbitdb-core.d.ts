// What the benchmark uses of @orbitdb/core beyond the declarations in src/types (read from its source).
import type { AccessControllerFactory } from '@orbitdb/core'

declare module '@orbitdb/core' {
  /** OrbitDB's stock access controller: `write` lists the identity ids that may append, `'*'` anyone. */
  /** The events database's reader: newest first; `lt` and the others take an entry's hash. */
  interface Database {
    iterator: (filters?: { gt?: string, gte?: string, lt?: string, lte?: string, amount?: number }) => AsyncIterable<{ hash: string, value: unknown }>
  }

  export function IPFSAccessController (options?: { write?: string[] }): AccessControllerFactory
}
