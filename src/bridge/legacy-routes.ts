/**
 * Data directories of older versions: they kept the chat routes in a file of
 * their own, `<dataDir>/bridge/routes.json`. At start its routes are taken
 * into the bot's state (in one commit), then the file is renamed
 * `routes.json.imported`, so that it is read once. A crash between the two
 * takes it again at the next start, adding nothing twice: a route the state
 * already has by that name is kept.
 */
import { readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { DataDirectoryError, type Logger } from '../protocol/index.ts'
import type { Bot } from '../framework/index.ts'
import { readStoredRoutes, writeStoredRoutes } from './route-state.ts'
import { routeSchema } from './routes.ts'

const legacyFileSchema = z.object({ version: z.literal(1), routes: z.array(routeSchema) })

/** Where older versions kept the chat routes. */
export function legacyRoutesPath (dataDir: string): string {
  return join(dataDir, 'bridge', 'routes.json')
}

/** Takes the routes of an older version's file into the bot's state, once; refuses a damaged file (the bot does not start). */
export async function importLegacyRoutes (bot: Bot<unknown>, log: Logger): Promise<void> {
  const path = legacyRoutesPath(bot.config.dataDir)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  let parsed: z.ZodSafeParseResult<z.output<typeof legacyFileSchema>>
  try {
    parsed = legacyFileSchema.safeParse(JSON.parse(text))
  } catch (err) {
    throw new DataDirectoryError(`${path} is not JSON: ${(err as Error).message}`)
  }
  if (!parsed.success) throw new DataDirectoryError(`${path} is damaged: ${z.prettifyError(parsed.error)}`)
  const legacy = parsed.data.routes
  const taken = await bot.run(async (ctx) => {
    const stored = await readStoredRoutes(ctx.botState)
    const names = new Set(stored.routes.map((r) => r.name))
    const missing = legacy.filter((r) => !names.has(r.name))
    if (missing.length > 0) await writeStoredRoutes(ctx.botState, { revision: stored.revision + 1, routes: [...stored.routes, ...missing] })
    return missing.map((r) => r.name)
  })
  await rename(path, `${path}.imported`)
  log.info({ routes: taken, from: path }, 'webhook routes taken over into the bot\'s state from an older version\'s file')
}
