/**
 * What `bertybot web` keeps in the data directory (`web.json`, readable by
 * the owner only): its port and access token, so that a restart serves the
 * same address to the pages already open and to bookmarks.
 */
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import type { Logger } from '../protocol/index.ts'

const FILE = 'web.json'
const settingsSchema = z.object({
  port: z.number().int().min(1).max(65_535),
  token: z.string().regex(/^[A-Za-z0-9_-]{32,128}$/)
})
export type WebSettings = z.infer<typeof settingsSchema>

export function newToken (): string {
  return randomBytes(24).toString('base64url')
}

/** The kept settings, or undefined when there are none (or they are damaged: logged, then made anew). */
export async function readWebSettings (dataDir: string, logger: Logger): Promise<WebSettings | undefined> {
  let text: string
  try {
    text = await readFile(join(dataDir, FILE), 'utf8')
  } catch {
    return undefined
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  const parsed = settingsSchema.safeParse(json)
  if (parsed.success) return parsed.data
  logger.warn({ file: join(dataDir, FILE) }, 'the web client\'s settings are damaged: a new port and token are made')
  return undefined
}

export async function writeWebSettings (dataDir: string, settings: WebSettings): Promise<void> {
  await writeFile(join(dataDir, FILE), JSON.stringify(settings), { mode: 0o600 })
}
