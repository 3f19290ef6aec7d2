/** Composers as in grammY: child composers mounted whole, filters that narrow, middleware objects. */
import { autoAcceptContacts, Composer, inContactConversation, inGroupConversation, type Context, type MessageContext } from 'bertybot'
import { createTestNetwork, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest'

let network: TestNetwork | undefined
afterEach(async () => { await network?.stop() })

describe('Composer', () => {
  it('mounts a part built on its own, runs what is added to it later, and narrows by type guards', async () => {
    network = await createTestNetwork()
    const seen: string[] = []
    // A part of a bot, built apart: it answers in 1:1 conversations only.
    const oneToOne = new Composer()
    const messages = oneToOne.filter(inContactConversation).on('message')
    const bot = await network.bot((b) => {
      b.use(autoAcceptContacts())
      b.use(oneToOne)
      b.filter(inGroupConversation, async (ctx) => { seen.push(`group ${ctx.type}`) })
      b.onMessage(async (ctx) => { await ctx.reply(`fallback: ${ctx.text}`) })
    })
    // Added after mounting: it counts, since a composer's middleware is read as it runs.
    messages.use(async (ctx: MessageContext, next) => {
      expectTypeOf(ctx.group.kind).toEqualTypeOf<'multi-member' | 'contact'>()
      seen.push(`1:1 ${ctx.text}`)
      if (ctx.text === 'pass') { await next(); return }
      await ctx.reply(`in private: ${ctx.text}`)
    })
    const alice = await network.user('alice')
    await alice.addContact(bot)
    await alice.send('hello')
    expect(await alice.nextReply()).toBe('in private: hello')
    await alice.send('pass')
    expect(await alice.nextReply()).toBe('fallback: pass')
    expect(seen).toEqual(['1:1 hello', '1:1 pass'])
  })

  it('types: on() and a type guard narrow the child composer\'s context', () => {
    const root = new Composer()
    expectTypeOf(root.on('message')).toEqualTypeOf<Composer<MessageContext>>()
    const isMessage = (ctx: Context): ctx is MessageContext => ctx.type === 'message'
    expectTypeOf(root.filter(isMessage)).toEqualTypeOf<Composer<MessageContext>>()
    expectTypeOf(root.filter(() => true)).toEqualTypeOf<Composer<Context>>()
  })
})
