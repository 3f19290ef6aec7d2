/**
 * Who hears announcements. Channels are groups: an admin creates one with
 * `/channel new <name>` (and shares its invitation), or invites the bot into
 * a group. Subscribers are contacts who sent `/subscribe`: they get
 * announcements in their 1:1 conversation with the bot.
 */
import type { Bot, CommandContext, Conversations } from 'bertybot'
import { z } from 'zod'
import { isAdmin, REFUSAL, stateOf, who, type AnnounceApp } from './app.ts'
import type { AnnounceState, Channel, Recipients } from './state.ts'

const CHANNEL_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/i
const SUBSCRIBERS = 'subscribers'

/** The conversations `to` reaches now, and the channel names in it that do not exist (any more). */
export async function resolveRecipients (conversations: Conversations, state: AnnounceState, to: Recipients): Promise<{ groups: string[], unknown: string[] }> {
  const channels = (await state.channels()).filter((c) => conversations.get(c.group) !== undefined)
  const subscriberGroups = async (): Promise<string[]> => (await state.subscribers())
    .map((account) => conversations.contact(account))
    .flatMap((contact) => contact?.state === 'accepted' && contact.conversation !== undefined ? [contact.conversation.id] : [])
  if (to === 'everyone') return { groups: [...channels.map((c) => c.group), ...await subscriberGroups()], unknown: [] }
  const groups = new Set<string>()
  const unknown: string[] = []
  for (const name of to) {
    if (name.toLowerCase() === SUBSCRIBERS) {
      for (const group of await subscriberGroups()) groups.add(group)
      continue
    }
    const channel = channels.find((c) => c.name.toLowerCase() === name.toLowerCase())
    if (channel === undefined) unknown.push(name)
    else groups.add(channel.group)
  }
  return { groups: [...groups], unknown }
}

/** Reads `--to a,b` against the channels there are; or what is wrong, if a name is unknown. */
export function parseRecipients (input: string | undefined, channels: Channel[]): Recipients | { error: string } {
  if (input === undefined || input.trim().toLowerCase() === 'everyone') return 'everyone'
  const names = [...new Set(input.split(',').map((s) => s.trim()).filter((s) => s !== ''))]
  if (names.length === 0) return 'everyone'
  const unknown = names.filter((n) => n.toLowerCase() !== SUBSCRIBERS && !channels.some((c) => c.name.toLowerCase() === n.toLowerCase()))
  if (unknown.length === 0) return names
  const known = channels.map((c) => c.name).join(', ')
  return { error: `There is no channel named ${unknown.map((n) => `"${n}"`).join(', ')}. ${known === '' ? 'There are no channels yet: /channel new <name> makes one.' : `Channels: ${known}; or "subscribers".`}` }
}

export function describeRecipients (to: Recipients): string {
  return to === 'everyone' ? 'everyone' : to.join(', ')
}

/** Makes a channel name of a group's name: letters, digits, - and _. */
function channelNameFor (groupName: string, taken: Channel[]): string {
  const base = groupName.trim().replace(/[^a-z0-9_-]+/gi, '-').replace(/^[-_]+|-+$/g, '').slice(0, 56) || 'channel'
  let name = base
  for (let n = 2; taken.some((c) => c.name.toLowerCase() === name.toLowerCase()); n++) name = `${base}-${n}`
  return name
}

export function setupAudience (bot: Bot<unknown>, app: AnnounceApp): void {
  bot.command('subscribe', { description: 'get announcements here, in this conversation' }, async (ctx) => {
    if (ctx.group.kind !== 'contact') return await ctx.reply('Send /subscribe to me directly, in our own conversation.')
    const state = stateOf(ctx)
    const subscribers = await state.subscribers()
    if (subscribers.includes(ctx.sender.account)) return await ctx.reply('You are subscribed already. /unsubscribe stops it.')
    await state.saveSubscribers([...subscribers, ctx.sender.account])
    await ctx.reply('Subscribed: announcements will come here. /unsubscribe stops them.')
  })

  bot.command('unsubscribe', { description: 'stop getting announcements here' }, async (ctx) => {
    const state = stateOf(ctx)
    const subscribers = await state.subscribers()
    if (!subscribers.includes(ctx.sender.account)) return await ctx.reply('You are not subscribed.')
    await state.saveSubscribers(subscribers.filter((a) => a !== ctx.sender.account))
    await ctx.reply('Unsubscribed: no more announcements here.')
  })

  bot.command('channel new', {
    args: z.object({ name: z.string().regex(CHANNEL_NAME, 'a channel name is letters, digits, - and _, at most 64') }),
    description: 'create a channel (a group) and get its invitation (admins)'
  }, async (ctx) => {
    if (!isAdmin(app, ctx.sender.account)) return await ctx.reply(REFUSAL)
    const state = stateOf(ctx)
    const channels = await state.channels()
    if (channels.some((c) => c.name.toLowerCase() === ctx.args.name.toLowerCase())) {
      return await ctx.reply(`There is a channel named "${ctx.args.name}" already.`)
    }
    // A group made by an earlier run of this handler that did not commit is reused, not made twice.
    const group = ctx.conversations.list().find((g) => g.kind === 'multi-member' && g.name === ctx.args.name && !channels.some((c) => c.group === g.id)) ??
      await ctx.createGroup({ name: ctx.args.name })
    await state.saveChannels([...channels, { group: group.id, name: ctx.args.name, addedBy: who(ctx.sender), addedAt: new Date(ctx.clock.now()).toISOString() }])
    await state.record(who(ctx.sender), `created channel ${ctx.args.name}`, new Date(ctx.clock.now()))
    await ctx.reply(`Channel "${ctx.args.name}" is ready. Whoever opens this invitation joins it:\n${group.invitation()}`)
  })

  bot.command('channels', { description: 'list the channels, with their members (admins)' }, async (ctx) => {
    if (!isAdmin(app, ctx.sender.account)) return await ctx.reply(REFUSAL)
    await ctx.reply(await channelList(ctx))
  })

  bot.onGroupInvitation(async (ctx) => {
    if (!isAdmin(app, ctx.sender.account)) {
      await ctx.reply('I join the groups my admins invite me to; ask one of them.')
      return
    }
    const group = await ctx.accept()
    const state = stateOf(ctx)
    const channels = await state.channels()
    if (channels.some((c) => c.group === group.id)) return
    const name = channelNameFor(ctx.invitation.groupName, channels)
    await state.saveChannels([...channels, { group: group.id, name, addedBy: who(ctx.sender), addedAt: new Date(ctx.clock.now()).toISOString() }])
    await state.record(who(ctx.sender), `added group "${ctx.invitation.groupName}" as channel ${name}`, new Date(ctx.clock.now()))
    await ctx.reply(`I joined "${ctx.invitation.groupName}": it is the channel ${name} now.`)
  })
}

async function channelList (ctx: CommandContext<unknown>): Promise<string> {
  const { conversations } = ctx
  const state = stateOf(ctx)
  const channels = await state.channels()
  const subscribers = await state.subscribers()
  const lines = channels.map((c) => {
    const group = conversations.get(c.group)
    const members = group?.members().filter((m) => m.account !== conversations.accountId).length
    return `${c.name}: ${members === undefined ? 'the bot is not in it any more' : `${members} member${members === 1 ? '' : 's'}`}`
  })
  return [channels.length === 0 ? 'No channels yet: /channel new <name> makes one.' : 'Channels:', ...lines, `Subscribers: ${subscribers.length}`].join('\n')
}
