/**
 * Webhook routes: `POST /hooks/<source>/<route>` posts to the route's groups.
 * Routes made from the chat live in `<dataDir>/bridge/routes.json`, written
 * whole and renamed into place (a crash leaves the old file or the new one),
 * readable by the bot's user only (0600): it holds the secrets. Routes from a
 * routes file (declarative deploys) are kept beside them and win on a name.
 */
import { randomBytes, createHash, timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { DataDirectoryError, writePrivateFile } from '../protocol/index.ts'

export const ROUTE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/
export const routeNameSchema = z.string().regex(ROUTE_NAME, 'a route name is 1 to 63 lower-case letters, digits, "-" or "_", starting with a letter or digit')
/** Secrets are long random strings; a short one would be guessable. */
export const secretSchema = z.string().min(16, 'a secret is at least 16 characters').max(512)

/** Label matchers (`severity="critical"`) that send an alert to other groups than the route's own. */
export const matcherRuleSchema = z.object({
  match: z.array(z.string().min(1)).min(1),
  to: z.array(z.string().min(1)).min(1)
})

export const routeSchema = z.object({
  name: routeNameSchema,
  source: z.string().regex(/^[a-z0-9-]{1,32}$/),
  /** Group ids. */
  to: z.array(z.string().min(1)).min(1),
  secret: secretSchema,
  /** First matching rule wins; alerts no rule matches go to `to`. */
  matchers: z.array(matcherRuleSchema).default([]),
  template: z.string().max(4000).optional(),
  /** Requests a minute the route takes before answering 429. */
  ratePerMinute: z.number().int().positive().optional(),
  origin: z.enum(['chat', 'file']),
  createdAt: z.string(),
  /** The chat message that made (or last rotated) it: handling it again gives the same answer. */
  madeBy: z.string().optional()
})

export type Route = z.output<typeof routeSchema>
export type MatcherRule = z.output<typeof matcherRuleSchema>

const routesFileSchema = z.object({ version: z.literal(1), routes: z.array(routeSchema) })

/** A fresh secret: 32 random bytes, URL-safe. */
export function newSecret (): string {
  return randomBytes(32).toString('base64url')
}

/** Compares a presented secret with the route's, in constant time whatever their lengths. */
export function secretMatches (presented: string, secret: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest()
  return timingSafeEqual(digest(presented), digest(secret))
}

/** The routes the bot serves: those made from the chat (stored) and those of a routes file. */
export class RouteStore {
  readonly #path: string
  #chat = new Map<string, Route>()
  #file = new Map<string, Route>()
  #writes: Promise<unknown> = Promise.resolve()

  private constructor (path: string) {
    this.#path = path
  }

  static async open (dataDir: string): Promise<RouteStore> {
    const store = new RouteStore(join(dataDir, 'bridge', 'routes.json'))
    let text: string
    try {
      text = await readFile(store.#path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return store
      throw err
    }
    let parsed: z.ZodSafeParseResult<z.output<typeof routesFileSchema>>
    try {
      parsed = routesFileSchema.safeParse(JSON.parse(text))
    } catch (err) {
      throw new DataDirectoryError(`${store.#path} is not JSON: ${(err as Error).message}`)
    }
    if (!parsed.success) throw new DataDirectoryError(`${store.#path} is damaged: ${z.prettifyError(parsed.error)}`)
    for (const route of parsed.data.routes) store.#chat.set(route.name, route)
    return store
  }

  get (name: string): Route | undefined {
    return this.#file.get(name) ?? this.#chat.get(name)
  }

  list (): Route[] {
    const all = new Map([...this.#chat, ...this.#file])
    return [...all.values()].sort((a, b) => a.name.localeCompare(b.name))
  }

  /** Replaces the routes of the routes file (they are not stored: the file is their home). */
  setFileRoutes (routes: Route[]): void {
    this.#file = new Map(routes.map((r) => [r.name, r]))
  }

  /** Adds or replaces a chat route, on disk before it resolves. */
  async put (route: Route): Promise<void> {
    await this.#update((routes) => { routes.set(route.name, route) })
  }

  /** Removes a chat route; false if there was none. */
  async remove (name: string): Promise<boolean> {
    return await this.#update((routes) => routes.delete(name))
  }

  /** Changes the chat routes and writes them, one change at a time. */
  async #update<T> (change: (routes: Map<string, Route>) => T): Promise<T> {
    const write = this.#writes.then(async () => {
      const next = new Map(this.#chat)
      const result = change(next)
      await writePrivateFile(this.#path, JSON.stringify({ version: 1, routes: [...next.values()] }, null, 2))
      this.#chat = next
      return result
    })
    this.#writes = write.catch(() => {})
    return await write
  }
}
