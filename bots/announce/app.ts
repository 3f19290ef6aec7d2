/**
 * What the announcement bot's parts share: the bot, its settings, and small
 * answers about people (is this an admin? how do we name them in the log?).
 */
import type { Bot, CommandContext, Context, Logger, Middleware, Sender } from 'bertybot'
import { AnnounceState } from './state.ts'
import type { AnnounceSettings } from './settings.ts'

export interface AnnounceApp {
  readonly bot: Bot<unknown>
  readonly settings: AnnounceSettings
  readonly log: Logger
}

export function isAdmin (app: AnnounceApp, account: string): boolean {
  return app.settings.admins.includes(account)
}

/** How the history names someone: their name and the start of their account id. */
export function who (sender: Pick<Sender, 'account' | 'displayName'>): string {
  return `${sender.displayName ?? 'someone'} (${sender.account.slice(0, 8)})`
}

/** The bot's state, typed, as this context sees it. */
export function stateOf (ctx: Pick<Context, 'botState' | 'log'>): AnnounceState {
  return new AnnounceState(ctx.botState, ctx.log)
}

export const REFUSAL = 'Sorry, only the admins of this bot can do that. You can /subscribe to get its announcements.'

/** A command handler only admins get to; others get the polite refusal. */
export function adminOnly<A> (app: AnnounceApp, handler: (ctx: CommandContext<A>) => Promise<void>): Middleware<CommandContext<A>> {
  return async (ctx) => {
    if (!isAdmin(app, ctx.sender.account)) return await ctx.reply(REFUSAL)
    await handler(ctx)
  }
}

/** Now, on the bot's clock. */
export function now (app: AnnounceApp): Date {
  return new Date(app.bot.clock.now())
}

/** Queues `text` to each admin who is a contact of the bot (in this context's transaction). */
export async function notifyAdmins (app: AnnounceApp, ctx: Pick<Context, 'send'>, text: string): Promise<number> {
  let told = 0
  for (const admin of app.settings.admins) {
    const contact = app.bot.peer.contact(admin)
    if (contact?.state !== 'accepted' || contact.group === undefined) continue
    await ctx.send(contact.group, text)
    told++
  }
  if (told === 0) app.log.warn({ text }, 'no admin is a contact of the bot to tell')
  return told
}
