// What the benchmark uses of @orbitdb/core beyond the declarations in src/types (read from its source).
import type { AccessControllerFactory } from '@orbitdb/core'

declare module '@orbitdb/core' {
  /** OrbitDB's stock access controller: `write` lists the identity ids that may append, `'*'` anyone. */
  export function IPFSAccessController (options?: { write?: string[] }): AccessControllerFactory
}
