/**
 * Webhook routes: `POST /hooks/<source>/<route>` posts to the route's groups.
 * What a route is, and its secret. Where routes live: those made from the
 * chat in the bot's state (`route-state.ts`), those of a routes file in that
 * file (`routes-file.ts`).
 */
import { randomBytes, createHash, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'

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
  /**
   * The chat message that made (or last rotated) it. A route is committed
   * with the command's answer, but one an older version wrote before its
   * answer may meet its command again: it answers the same.
   */
  madeBy: z.string().optional()
})

export type Route = z.output<typeof routeSchema>
export type MatcherRule = z.output<typeof matcherRuleSchema>

/** A fresh secret: 32 random bytes, URL-safe. */
export function newSecret (): string {
  return randomBytes(32).toString('base64url')
}

/** Compares a presented secret with the route's, in constant time whatever their lengths. */
export function secretMatches (presented: string, secret: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest()
  return timingSafeEqual(digest(presented), digest(secret))
}
