/** A bot that is an admin of a group deletes others' messages with `ctx.delete` (but edits only its own); deletions tell who made them. */
import { autoAcceptContacts, autoJoinGroups } from 'bertybot'
import { createTestNetwork, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import type { NotTheAuthorError } from 'bertybot/protocol'
import { groupState } from '../helpers/group-state.ts'

let network: TestNetwork
afterEach(async () => { await network.stop() })

describe('deletion by an admin bot', () => {
  it('deletes a member\'s message once the bot is an admin, and tells its handlers in what right a message was deleted', async () => {
    network = await createTestNetwork()
    const bot = await network.bot((b) => {
      b.use(autoAcceptContacts(), autoJoinGroups())
      b.onMessage(async (ctx) => {
        if (ctx.text.includes('typo here')) {
          await ctx.edit(ctx.message.id, 'corrected').catch(async (err: unknown) => { await ctx.reply(`could not edit: ${(err as NotTheAuthorError).code}`) })
        }
        if (!ctx.text.includes('spam')) return
        try {
          await ctx.delete(ctx.message.id)
        } catch (err) {
          await ctx.reply(`could not delete: ${(err as NotTheAuthorError).code}`)
        }
      })
      b.on('messageDeleted', async (ctx) => { await ctx.reply(`${ctx.target} deleted by ${ctx.deletedBy}`) })
    })
    const alice = await network.user('alice')
    const bob = await network.user('bob')
    await alice.addContact(bot)
    const group = await alice.createGroup('moderated')
    await alice.invite(group, bot)
    await alice.invite(group, bob)
    bob.open(bob.peer.group(group.id)!)
    alice.open(group)

    // Not an admin yet: the deletion of bob's message is refused at once, with a typed error.
    await bob.send('early spam')
    expect(await bob.nextReply({ from: bot })).toBe('could not delete: ERR_NOT_THE_AUTHOR')

    await group.grantAdmin(bot.peer.accountId)
    for (const peer of [bot.peer, bob.peer]) await groupState(peer, group.id, 'the bot to be admin', (g) => g.admins().includes(bot.peer.accountId))
    const spam = await bob.send('cheap spam here')
    for (const user of [alice, bob]) {
      const deletion = await user.nextDeletion()
      expect(deletion).toMatchObject({ target: spam, deletedBy: 'admin', sender: { account: bot.peer.accountId } })
    }
    // An admin deletes others' messages; editing them is their author's alone.
    await bob.send('a typo here')
    expect(await bob.nextReply({ from: bot })).toBe('could not edit: ERR_NOT_THE_AUTHOR')

    // Alice, an admin too, deletes bob's message; bob deletes his own.
    const words = await bob.send('harsh words')
    while ((await alice.nextMessage()).id !== words);
    await alice.delete(words)
    expect(await bob.nextReply({ from: bot })).toBe(`${words} deleted by admin`)
    const typo = await bob.send('a typo')
    await bob.delete(typo)
    expect(await bob.nextReply({ from: bot })).toBe(`${typo} deleted by author`)
  }, 120_000)
})
