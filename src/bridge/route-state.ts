/**
 * Where the bridge keeps its routes. Those made from the chat, with their
 * secrets, are bot state (`bridge/routes` in `ctx.botState`): a command that
 * makes, changes or removes one writes it in its own transaction, so the
 * route and the command's answer are committed together, or neither is. The
 * webhook server serves what was committed (`ServedRoutes`); routes of a
 * routes file are kept beside them, in memory only (the file is their home),
 * and win on a name.
 */
import { z } from 'zod'
import { DataDirectoryError } from '../protocol/index.ts'
import type { KeyValue } from '../framework/index.ts'
import { routeSchema, type Route } from './routes.ts'

/** The bot-state key of the chat routes (beside delivery's `bridge/...` keys). */
const ROUTES_KEY = 'bridge/routes'

/**
 * The chat routes as stored. `revision` counts the commits that changed
 * them: a commit reads them first, so two that race are ordered by the
 * state's conflict check, and the server keeps the newest it was told of.
 */
const storedRoutesSchema = z.object({
  revision: z.number().int().nonnegative(),
  routes: z.array(routeSchema)
})

export type StoredRoutes = z.output<typeof storedRoutesSchema>

/** What the bridge needs of a handler's (or `bot.run()`'s) context. */
export interface RouteWriter {
  readonly botState: KeyValue
  afterCommit: (fn: () => void) => void
}

/** The chat routes `state` holds (none yet: revision 0); damaged ones stop the caller. */
export async function readStoredRoutes (state: KeyValue): Promise<StoredRoutes> {
  const value = await state.get(ROUTES_KEY)
  if (value === undefined) return { revision: 0, routes: [] }
  const parsed = storedRoutesSchema.safeParse(value)
  if (!parsed.success) throw new DataDirectoryError(`the bridge's routes in the bot's state are damaged: ${z.prettifyError(parsed.error)}`)
  return parsed.data
}

export async function writeStoredRoutes (state: KeyValue, stored: StoredRoutes): Promise<void> {
  await state.set(ROUTES_KEY, stored)
}

/** Routes by name, a routes file's over the chat's. */
class RouteView {
  protected chat: ReadonlyMap<string, Route>
  protected file: ReadonlyMap<string, Route>

  constructor (chat: ReadonlyMap<string, Route>, file: ReadonlyMap<string, Route>) {
    this.chat = chat
    this.file = file
  }

  get (name: string): Route | undefined {
    return this.file.get(name) ?? this.chat.get(name)
  }

  list (): Route[] {
    const all = new Map([...this.chat, ...this.file])
    return [...all.values()].sort((a, b) => a.name.localeCompare(b.name))
  }
}

const byName = (routes: readonly Route[]): Map<string, Route> => new Map(routes.map((r) => [r.name, r]))

/** The routes the webhook server serves: the chat routes last committed, and the routes file's. */
export class ServedRoutes extends RouteView {
  /** Of the chat routes served; undefined until they are loaded at start. */
  #revision: number | undefined

  constructor () {
    super(new Map(), new Map())
  }

  /** False until the chat routes were read at start. */
  get loaded (): boolean {
    return this.#revision !== undefined
  }

  /** Serves the chat routes of a commit, unless newer ones are served already. */
  committed (stored: StoredRoutes): void {
    if (this.#revision !== undefined && stored.revision <= this.#revision) return
    this.#revision = stored.revision
    this.chat = byName(stored.routes)
  }

  /** Replaces the routes of the routes file. */
  setFileRoutes (routes: readonly Route[]): void {
    this.file = byName(routes)
  }

  /** The routes as `ctx`'s transaction sees them, to read and change there. */
  async in (ctx: RouteWriter): Promise<RouteChanges> {
    return new RouteChanges(ctx, await readStoredRoutes(ctx.botState), this.file, (stored) => { this.committed(stored) })
  }
}

/**
 * The routes within one transaction: the chat routes it read, with its own
 * changes, and the routes file's. Changes are written to the transaction's
 * state and served once it is committed.
 */
export class RouteChanges extends RouteView {
  readonly #ctx: RouteWriter
  readonly #revision: number
  readonly #serve: (stored: StoredRoutes) => void
  /** What this transaction last wrote. */
  #written: StoredRoutes | undefined

  constructor (ctx: RouteWriter, stored: StoredRoutes, file: ReadonlyMap<string, Route>, serve: (stored: StoredRoutes) => void) {
    super(byName(stored.routes), file)
    this.#ctx = ctx
    this.#revision = stored.revision
    this.#serve = serve
  }

  /** Adds or replaces a chat route. */
  async put (route: Route): Promise<void> {
    await this.#write((routes) => { routes.set(route.name, route) })
  }

  /** Removes a chat route; false if there was none. */
  async remove (name: string): Promise<boolean> {
    return await this.#write((routes) => routes.delete(name))
  }

  async #write<T> (change: (routes: Map<string, Route>) => T): Promise<T> {
    const next = new Map(this.chat)
    const result = change(next)
    this.chat = next
    const stored = { revision: this.#revision + 1, routes: [...next.values()] }
    await writeStoredRoutes(this.#ctx.botState, stored)
    // Served once committed: the last write of the transaction is what it commits.
    if (this.#written === undefined) this.#ctx.afterCommit(() => { if (this.#written !== undefined) this.#serve(this.#written) })
    this.#written = stored
    return result
  }
}
