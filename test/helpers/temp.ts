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
  await Promise.all(made.splice(0).map(async (dir) => { await rm(dir, { recursive: true, force: true }) }))
})
