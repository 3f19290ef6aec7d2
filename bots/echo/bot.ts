/**
 * The echo bot: replies with what it is sent, and accepts every contact and
 * group invitation. The setup is a function of its own, so that tests start
 * the same bot on a test network.
 */
import { autoAcceptContacts, autoJoinGroups, type Bot } from 'bertybot'

export function setupEchoBot (bot: Bot): void {
  bot.use(autoAcceptContacts(), autoJoinGroups())
  bot.onMessage(async (ctx) => { await ctx.reply(ctx.text) })
}
