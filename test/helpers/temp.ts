import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'

const made: string[] = []

/** A fresh directory under the system's temp dir, removed when the test file ends. */
export async function tempDir (label = 'peer'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `bertybot-${label}-`))
  made.push(dir)
  return dir
}

afterAll(async () => {
  // A peer's process that was just killed (or LevelDB closing in one) may still write into its
  // directory while it is removed: rm then meets a directory that is not empty, and tries again.
  await Promise.all(made.splice(0).map(async (dir) => { await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }) }))
})
