/**
 * The routes file: webhook routes declared in YAML or JSON for deploys that
 * keep their configuration in a repository. Groups are named as the bot
 * knows them (a group's name or id); a secret is given inline or, better,
 * read from a file (a Docker or systemd secret). Every mistake is reported at
 * its line, and a file with one is refused whole.
 *
 * ```yaml
 * routes:
 *   - name: alerts
 *     source: alertmanager
 *     to: ops
 *     secretFile: /run/secrets/alerts
 *     matchers:
 *       - match: ['severity="critical"']
 *         to: on-call
 * ```
 */
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import type { Group } from '../protocol/index.ts'
import { ConfigFileError, guarded, loadConfigFile, strictObject } from '../framework/index.ts'
import { parseMatcher } from './matchers.ts'
import { routeNameSchema, secretSchema, type Route } from './routes.ts'

export { ConfigFileError as RoutesFileError }

export interface RoutesFileContext {
  /** The source kinds the bot serves. */
  sources: readonly string[]
  resolveGroup: (reference: string) => Group | undefined
  now: Date
}

const groupList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((to) => typeof to === 'string' ? [to] : to)

function fileSchema (context: RoutesFileContext): z.ZodType<{ routes: Route[] }> {
  const groups = groupList.transform(guarded((references: string[]) => references.map((reference) => {
    const group = context.resolveGroup(reference)
    if (group === undefined) throw new Error(`the bot is in no group "${reference}" (invite it first, or give the group's id)`)
    return group.id
  })))
  const route = strictObject({
    name: routeNameSchema,
    source: z.string().refine((s) => context.sources.includes(s), { error: `expected one of ${context.sources.join(', ')}` }),
    to: groups,
    secret: secretSchema.optional(),
    secretFile: z.string().min(1).transform(guarded((path: string) => secretSchema.parse(readFileSync(path, 'utf8').trim()))).optional(),
    matchers: z.array(strictObject({
      match: z.union([z.string(), z.array(z.string()).min(1)]).transform((m) => typeof m === 'string' ? [m] : m)
        .superRefine(guarded((matchers: string[]) => { matchers.forEach((m) => parseMatcher(m)) })),
      to: groups
    })).optional(),
    template: z.string().min(1).max(4000).optional(),
    /** Requests a minute before 429. */
    rate: z.number().int().positive().optional()
  }).transform((r, ctx): Route => {
    const secret = r.secret ?? r.secretFile
    if (secret === undefined || (r.secret !== undefined && r.secretFile !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give the route one of secret or secretFile' })
      return z.NEVER
    }
    return {
      name: r.name,
      source: r.source,
      to: r.to,
      secret,
      matchers: r.matchers ?? [],
      template: r.template,
      ratePerMinute: r.rate,
      origin: 'file',
      createdAt: context.now.toISOString()
    }
  })
  return strictObject({ routes: z.array(route).nullish() }).transform((file, ctx) => {
    const routes = file.routes ?? []
    const seen = new Set<string>()
    routes.forEach((r, index) => {
      if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['routes', index, 'name'], message: `"${r.name}" is the name of an earlier route` })
      seen.add(r.name)
    })
    return { routes }
  })
}

/** Reads a routes file; throws `ConfigFileError` (line and column) if anything in it is wrong. */
export async function loadRoutesFile (path: string, context: RoutesFileContext): Promise<Route[]> {
  return (await loadConfigFile(path, fileSchema(context), { what: 'routes file' })).routes
}
