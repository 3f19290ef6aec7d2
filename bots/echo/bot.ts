/**
 * The echo bot: replies with what it is sent, and accepts every contact and
 * group invitation. The setup is a function of its own, so that tests start
 * the same bot on a test network.
 */
import { autoAcceptContacts, autoJoinGroups, type Bot } from 'bertybot'

export function setupEchoBot (bot: Bot): void {
  bot.use(autoAcceptContacts(), autoJoinGroups())
  // One line for each thing it does, so its operator sees it work (the texts stay out of the log).
  bot.onContactRequest((ctx) => { ctx.log.info({ account: ctx.request.account, name: ctx.request.displayName }, 'accepted a contact') })
  bot.onGroupInvitation((ctx) => { ctx.log.info({ group: ctx.invitation.groupName, from: ctx.sender.displayName ?? ctx.sender.account }, 'joined a group') })
  bot.onMessage(async (ctx) => {
    await ctx.reply(ctx.text)
    ctx.log.info({ from: ctx.sender.displayName ?? ctx.sender.account, conversation: ctx.group.name, characters: ctx.text.length }, 'answered a message')
  })
}
