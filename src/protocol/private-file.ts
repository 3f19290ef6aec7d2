/**
 * Writing a file that holds a secret (a key) so that a crash
 * leaves the old file or the new one, never a part of either: a temporary file
 * only the owner can read (0600), flushed to disk, renamed over the old one,
 * and the directory flushed so that the rename itself survives a power loss.
 */
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, open, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'

/** Writes `text` to `path` atomically, readable by its owner only; makes the directory (0700) if needed. */
export async function writePrivateFile (path: string, text: string): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`
  const file = await open(temporary, 'wx', 0o600)
  try {
    await file.writeFile(text)
    await file.sync()
  } finally {
    await file.close()
  }
  try {
    await rename(temporary, path)
  } catch (err) {
    await unlink(temporary).catch(() => {})
    throw err
  }
  const directory = await open(dir, 'r')
  try {
    await directory.sync()
  } finally {
    await directory.close()
  }
}
