/**
 * A handler writes only through its context: the bot, the peer and the
 * peer's groups (which send at once, outside the handler's transaction) are
 * not within its reach. The types say so (checked by `tsc` with the tests),
 * and so does the running context.
 */
import {
  autoAcceptContacts, type CommandContext, type ContactAcceptedContext, type Context, type Conversation, type GroupInvitationContext,
  type MessageContext, type ScheduleContext, type TaskContext
} from 'bertybot'
import { createTestNetwork, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest'

let network: TestNetwork | undefined
afterEach(async () => { await network?.stop() })

describe('what a handler sees', () => {
  it('offers no way to send but through the context', () => {
    // No bot, no peer: the framework's own objects stay out of reach. (One call each: a union of keys checks nothing.)
    expectTypeOf<MessageContext>().not.toHaveProperty('bot')
    expectTypeOf<MessageContext>().not.toHaveProperty('peer')
    expectTypeOf<MessageContext>().not.toHaveProperty('services')
    expectTypeOf<ScheduleContext>().not.toHaveProperty('bot')
    expectTypeOf<ScheduleContext>().not.toHaveProperty('peer')
    expectTypeOf<TaskContext>().not.toHaveProperty('bot')
    expectTypeOf<TaskContext>().not.toHaveProperty('peer')
    // The conversation is read only: it has no send, seal or acknowledge of its own.
    expectTypeOf<MessageContext['group']>().toEqualTypeOf<Conversation>()
    expectTypeOf<Conversation>().not.toHaveProperty('send')
    expectTypeOf<Conversation>().not.toHaveProperty('seal')
    expectTypeOf<Conversation>().not.toHaveProperty('sealMany')
    expectTypeOf<Conversation>().not.toHaveProperty('sendSealed')
    expectTypeOf<Conversation>().not.toHaveProperty('sendSealedMany')
    expectTypeOf<Conversation>().not.toHaveProperty('acknowledge')
    expectTypeOf<Conversation>().not.toHaveProperty('sendInvitation')
    expectTypeOf<Conversation>().not.toHaveProperty('addReplica')
    // What accepting gives, and a contact's conversation, are read only too.
    expectTypeOf<Awaited<ReturnType<GroupInvitationContext['accept']>>>().toEqualTypeOf<Conversation>()
    expectTypeOf<NonNullable<ContactAcceptedContext['contact']['conversation']>>().toEqualTypeOf<Conversation>()
    expectTypeOf<ReturnType<Context['conversations']['list']>>().toEqualTypeOf<Conversation[]>()
  })

  it('is the same at run time: a reply goes through the outbox, and the peer\'s group is nowhere on the context', async () => {
    network = await createTestNetwork()
    const seen: Array<{ keys: string[], groupKeys: string[], sendOnGroup: boolean, kind: string, members: number, sameId: boolean }> = []
    const bot = await network.bot((b) => {
      b.use(autoAcceptContacts())
      b.command('look', async (ctx: CommandContext<unknown>) => {
        seen.push({
          keys: Object.keys(ctx),
          groupKeys: Object.keys(ctx.group),
          sendOnGroup: 'send' in ctx.group,
          kind: ctx.group.kind,
          members: ctx.group.members().length,
          sameId: ctx.conversations.get(ctx.group.id)?.id === ctx.group.id
        })
        await ctx.reply(`looked at ${ctx.group.name}`)
      })
    })
    const alice = await network.user('alice')
    await alice.addContact(bot)
    await alice.send('/look')
    expect(await alice.nextReply()).toMatch(/^looked at /)
    const [view] = seen
    expect(view).toBeDefined()
    expect(view!.keys).not.toContain('bot')
    expect(view!.keys).not.toContain('peer')
    expect(view!.keys).not.toContain('services')
    expect(view!.groupKeys).toEqual([])
    expect(view!.sendOnGroup).toBe(false)
    expect(view!.kind).toBe('contact')
    expect(view!.members).toBe(2)
    expect(view!.sameId).toBe(true)
  })
})
