/**
 * Recipes: common behaviours as plain middleware, after Berty's Go bot
 * package (`AutoAcceptIncomingContactRequestRecipe`, `AutoAcceptIncomingGroupInviteRecipe`,
 * `WelcomeMessageRecipe`). Use them with `bot.use(...)`.
 */
import type { Middleware } from './composer.ts'
import type { ContactAcceptedContext, ContactRequestContext, Context, GroupInvitationContext, MemberJoinedContext } from './context.ts'

/** Accepts every contact request (or those `filter` lets through). */
export function autoAcceptContacts (options: { filter?: (ctx: ContactRequestContext) => boolean | Promise<boolean> } = {}): Middleware<Context> {
  return async (ctx, next) => {
    if (ctx.type === 'contactRequest' && (options.filter === undefined || await options.filter(ctx))) await ctx.accept()
    await next()
  }
}

/**
 * Joins every group the bot is invited to (or those `filter` lets through);
 * with `confirmation`, replies with it first, as Berty's bot does ("I'll join asap!").
 */
export function autoJoinGroups (options: { confirmation?: string, filter?: (ctx: GroupInvitationContext) => boolean | Promise<boolean> } = {}): Middleware<Context> {
  return async (ctx, next) => {
    if (ctx.type === 'groupInvitation' && (options.filter === undefined || await options.filter(ctx))) {
      if (options.confirmation !== undefined) await ctx.reply(options.confirmation)
      await ctx.accept()
    }
    await next()
  }
}

/**
 * Greets: a new contact in its 1:1 conversation, and a member who joins a
 * group the bot is in. `text` may be a function of the context.
 */
export function welcome (text: string | ((ctx: ContactAcceptedContext | MemberJoinedContext) => string)): Middleware<Context> {
  return async (ctx, next) => {
    const greet = ctx.type === 'contactAccepted' || (ctx.type === 'memberJoined' && ctx.group.kind === 'multi-member')
    if (greet) await ctx.reply(typeof text === 'function' ? text(ctx) : text)
    await next()
  }
}
