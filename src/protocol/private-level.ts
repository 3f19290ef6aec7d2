/**
 * Opening a LevelDB that holds secrets or a program's own state: its directory
 * is 0700, a second process on it gets an error saying so, and a format
 * version kept in it lets an older bertybot refuse what a newer one wrote
 * instead of misreading it.
 */
import { chmod, mkdir } from 'node:fs/promises'
import { ClassicLevel } from 'classic-level'
import { DataDirectoryError } from './errors.ts'

export type PrivateLevel = ClassicLevel<string, Uint8Array>

// At the root, beside the sublevels (whose keys all start with '!').
const FORMAT_KEY = 'format'

export async function openPrivateLevel (dir: string, options: { what: string, format: number }): Promise<PrivateLevel> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  const db = new ClassicLevel<string, Uint8Array>(dir, { valueEncoding: 'view' })
  try {
    await db.open()
  } catch (err) {
    throw new DataDirectoryError(`cannot open ${options.what} in ${dir} (is another process using this data directory?): ${(err as Error).message}`, { cause: err })
  }
  const stored = await db.get(FORMAT_KEY)
  const version = stored === undefined ? undefined : Number(new TextDecoder().decode(stored))
  if (version === undefined || version < options.format) {
    // An older format is read as it is, and what is written from now on may be newer: an older bertybot must refuse it.
    await db.put(FORMAT_KEY, new TextEncoder().encode(String(options.format)))
  } else if (!(version <= options.format)) {
    await db.close()
    throw new DataDirectoryError(`${options.what} in ${dir} was written by a newer bertybot (format ${String(version)}, this one reads ${options.format}): upgrade bertybot`)
  }
  return db
}
