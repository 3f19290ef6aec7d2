import { autoAcceptContacts, autoJoinGroups, CommandDefinitionError } from 'bertybot'
import { createTestNetwork, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { groupState } from '../helpers/group-state.ts'

let network: TestNetwork
afterEach(async () => { await network.stop() })

describe('roles in the framework', () => {
  it('lets admin commands run for the group\'s admins only, with a polite refusal, and shows the roles read only', async () => {
    network = await createTestNetwork()
    const bot = await network.bot((b) => {
      b.use(autoAcceptContacts(), autoJoinGroups())
      b.command('close', { role: 'admin', args: z.object({ reason: z.string() }), description: 'close the incident' }, async (ctx) => {
        await ctx.reply(`closed (${ctx.args.reason}) by an ${ctx.group.role(ctx.sender.account) ?? '?'}; admins: ${ctx.group.admins.length}`)
      })
      b.command('status', { description: 'anyone may ask' }, async (ctx) => {
        await ctx.reply(`you are ${ctx.group.role(ctx.sender.account) ?? 'not a member'}`)
      })
    })
    const alice = await network.user('alice')
    const bob = await network.user('bob')
    await alice.addContact(bot)
    const contact = alice.conversation!
    const group = await alice.createGroup('incidents')
    await alice.invite(group, bot)
    await alice.invite(group, bob)
    bob.open(bob.peer.group(group.id)!)

    // Bob is a member: refused, before his arguments are even looked at; a command for all still runs.
    await bob.send('/close')
    expect(await bob.nextReply({ from: bot })).toBe('Sorry, /close is for the group\'s admins only.')
    await bob.send('/status')
    expect(await bob.nextReply({ from: bot })).toBe('you are member')

    // Alice made the group: she is its admin. She saw the bot answer bob first.
    alice.open(group)
    expect(await alice.nextReply({ from: bot })).toBe('Sorry, /close is for the group\'s admins only.')
    expect(await alice.nextReply({ from: bot })).toBe('you are member')
    await alice.send('/close "disk full"')
    expect(await alice.nextReply({ from: bot })).toBe('closed (disk full) by an admin; admins: 1')

    // Once alice grants him the role and the bot has seen it, bob may.
    await group.grantAdmin(bob.peer.accountId)
    await groupState(bot.peer, group.id, 'the bot to see bob as admin', (g) => g.admins().includes(bob.peer.accountId))
    expect(await bob.nextReply({ from: bot })).toBe('closed (disk full) by an admin; admins: 1')
    await bob.send('/close "fixed"')
    expect(await bob.nextReply({ from: bot })).toBe('closed (fixed) by an admin; admins: 2')

    // A contact conversation has no admins: nobody there may.
    alice.open(contact)
    await alice.send('/close "from the side"')
    expect(await alice.nextReply({ from: bot })).toBe('Sorry, /close is for the group\'s admins only.')
  })

  it('refuses a role a command cannot require', async () => {
    network = await createTestNetwork()
    await expect(network.bot((b) => {
      b.command('x', { role: 'owner' as 'admin' }, async () => {})
    })).rejects.toBeInstanceOf(CommandDefinitionError)
  })
})
