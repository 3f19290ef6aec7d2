/**
 * Accounts as people give them to a bot's settings or commands: a contact
 * link (what they share) or an account id (what the bot logs). Both name the
 * same account; the bot compares ids.
 */
import { z } from 'zod'
import { decodeContactLink, idToKey, keyToId } from '../protocol/index.ts'

/**
 * A zod schema for an account: a contact link or an account id in, the
 * account id out; anything else is refused saying what was expected.
 *
 * ```ts
 * const settings = z.object({ ADMINS: z.string().transform(s => s.split(',')).pipe(z.array(accountSchema)) })
 * ```
 */
export const accountSchema = z.string().trim().transform((value, ctx) => {
  if (value.startsWith('bertybot://')) {
    try {
      return keyToId(decodeContactLink(value).accountKey)
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a valid contact link: ${(err as Error).message}` })
      return z.NEVER
    }
  }
  if (idToKey(value) !== undefined) return value
  ctx.addIssue({ code: 'custom', message: `"${value.length > 60 ? `${value.slice(0, 60)}…` : value}" is neither a contact link nor an account id` })
  return z.NEVER
})

/** A comma-separated list of accounts (an environment variable): the account ids, without repeats. */
export const accountListSchema = z.string().transform((value) => value.split(',').map((s) => s.trim()).filter((s) => s !== ''))
  .pipe(z.array(accountSchema))
  .transform((ids) => [...new Set(ids)])
