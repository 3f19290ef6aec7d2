/** Reactions, edits, deletions, buttons and formatting, through the framework and `bertybot/testing`. */
import { autoAcceptContacts, autoJoinGroups, escapeMarkdown, type Bot, type ButtonContext } from 'bertybot'
import { createTestNetwork, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { LogCapture } from '../helpers/log-capture.ts'

let network: TestNetwork
afterEach(async () => { await network.stop() })

const VOTE = [[{ label: 'Yes', payload: 'vote:yes' }, { label: 'No', payload: 'vote:no' }], [{ label: 'Close', payload: 'vote:close' }]]

/** A bot that offers a vote with buttons, reacts, edits and deletes its messages, and says what it saw of the others'. */
function voteBot (pressed: ButtonContext[]): (bot: Bot) => void {
  return (bot) => {
    bot.use(autoAcceptContacts(), autoJoinGroups())
    bot.command('vote', async (ctx) => { await ctx.reply('**Lunch** at noon?', { format: 'markdown', buttons: VOTE, tag: `vote:${ctx.message.id}` }) })
    bot.onButton(/^vote:(yes|no)$/, async (ctx) => {
      pressed.push(ctx)
      await ctx.reply(`${ctx.sender.displayName ?? '?'} voted ${(ctx.match as RegExpMatchArray)[1] ?? '?'} on ${ctx.target === await ctx.messageIdOf(`vote:${await ctx.state.get<string>('last') ?? ''}`) ? 'the vote' : 'something else'}`)
    })
    bot.onButton('vote:close', async (ctx) => {
      pressed.push(ctx)
      await ctx.edit(ctx.target, 'The vote is _closed_.', { format: 'markdown' })
    })
    bot.command('forget', async (ctx) => {
      const id = await ctx.messageIdOf(`vote:${await ctx.state.get<string>('last') ?? ''}`)
      if (id !== undefined) await ctx.delete(id)
      await ctx.reply(id === undefined ? 'nothing to forget' : 'forgotten')
    })
    bot.on('reaction', async (ctx) => { await ctx.reply(`${ctx.removed ? 'took back' : 'reacted'} ${ctx.emoji} on ${ctx.target === await ctx.messageIdOf(`vote:${await ctx.state.get<string>('last') ?? ''}`) ? 'the vote' : ctx.target}`) })
    bot.on('messageEdited', async (ctx) => { await ctx.reply(`edited ${ctx.target} to "${ctx.text}" (${ctx.format})`) })
    bot.on('messageDeleted', async (ctx) => { await ctx.reply(`deleted ${ctx.target}`) })
    bot.onMessage(async (ctx) => {
      await ctx.react('👀')
      await ctx.reply(`you said *${escapeMarkdown(ctx.text)}*`, { format: 'markdown', quote: true })
    })
    // Remember which /vote is the last, so that handlers can name it.
    bot.use(async (ctx, next) => {
      if (ctx.type === 'message' && ctx.text === '/vote') await ctx.state.set('last', ctx.message.id)
      await next()
    })
  }
}

describe('a bot\'s messages beyond text', () => {
  it('offers buttons with Markdown; a press reaches onButton with its payload and the message; the bot edits and deletes its message', async () => {
    network = await createTestNetwork()
    const pressed: ButtonContext[] = []
    const bot = await network.bot(voteBot(pressed))
    const alice = await network.user('alice')
    await alice.addContact(bot)

    await alice.send('/vote')
    const vote = await alice.nextMessage()
    expect(vote).toMatchObject({ text: '**Lunch** at noon?', format: 'markdown', buttons: VOTE })
    await alice.press(vote, 'Yes')
    expect(await alice.nextReply()).toBe('alice voted yes on the vote')
    expect(pressed[0]).toMatchObject({ type: 'buttonPressed', payload: 'vote:yes', target: vote.id, sender: { account: alice.peer.accountId } })

    await alice.press(vote, 'vote:close')
    const closed = await alice.nextEdit()
    expect(closed).toMatchObject({ target: vote.id, text: 'The vote is _closed_.', format: 'markdown', buttons: [], sender: { account: bot.peer.accountId } })

    await alice.send('/forget')
    expect(await alice.nextReply()).toBe('forgotten')
    expect(await alice.nextDeletion()).toMatchObject({ target: vote.id, sender: { account: bot.peer.accountId } })
  })

  it('reacts to a message in hand, and hears of its users\' reactions, edits and deletions', async () => {
    network = await createTestNetwork()
    const bot = await network.bot(voteBot([]))
    const alice = await network.user('alice')
    await alice.addContact(bot)

    const hello = await alice.send('hello *world*')
    const answer = await alice.nextMessage()
    expect(answer).toMatchObject({ text: 'you said *hello \\*world\\**', format: 'markdown', replyTo: hello })
    expect(await alice.nextReaction()).toMatchObject({ target: hello, emoji: '👀', removed: false, sender: { account: bot.peer.accountId } })

    await alice.send('/vote')
    const vote = await alice.nextMessage()
    await alice.react(vote, '🎉')
    expect(await alice.nextReply()).toBe('reacted 🎉 on the vote')
    await alice.react(vote, '🎉', { remove: true })
    expect(await alice.nextReply()).toBe('took back 🎉 on the vote')

    await alice.edit(hello, 'hello **everyone**', { format: 'markdown' })
    expect(await alice.nextReply()).toBe(`edited ${hello} to "hello **everyone**" (markdown)`)
    await alice.delete(hello)
    expect(await alice.nextReply()).toBe(`deleted ${hello}`)
  })

  it('drops a press of a payload it never offered on that message, or of buttons an edit took away, with a logged reason', async () => {
    network = await createTestNetwork()
    const log = new LogCapture('warn')
    const pressed: ButtonContext[] = []
    const bot = await network.bot(voteBot(pressed), { logger: log.logger })
    const alice = await network.user('alice')
    await alice.addContact(bot)
    await alice.send('/vote')
    const vote = await alice.nextMessage()

    // A payload the bot offers, but on another message (alice's own), and one it offers nowhere.
    const own = await alice.send('a message of mine')
    await alice.nextMessage()
    await alice.nextReaction()
    await alice.press(own, 'vote:yes')
    await alice.press(vote.id, 'vote:admin')
    await log.waitForLine('the press on another message dropped', (l) => l.msg.startsWith('dropped a button press: it names no message') && l.message === own)
    await log.waitForLine('the forged payload dropped', (l) => l.msg === 'dropped a button press: the bot did not offer that payload on that message' && l.payload === 'vote:admin')

    // The right payload on the right message, pressed in another conversation.
    const contact = alice.conversation!
    const elsewhere = await alice.createGroup('elsewhere')
    await alice.invite(elsewhere, bot)
    await alice.press(vote.id, 'vote:yes')
    await log.waitForLine('the press in another conversation dropped', (l) => l.msg.startsWith('dropped a button press: it names no message') && l.message === vote.id && l.group === elsewhere.id)
    alice.open(contact)

    // Closed by an edit, the vote offers nothing any more.
    await alice.press(vote, 'Close')
    await alice.nextEdit()
    await alice.press(vote, 'Yes')
    await log.waitForLine('the press of a button taken away dropped', (l) => l.msg.startsWith('dropped a button press') && l.payload === 'vote:yes')

    // None of them reached a handler: the next thing alice hears answers what she says next.
    const probe = await alice.send('still there?')
    expect((await alice.nextMessage()).replyTo).toBe(probe)
    expect(pressed.map((ctx) => ctx.payload)).toEqual(['vote:close'])
  })

  it('refuses, in the handler, a reaction or buttons receivers would drop', async () => {
    network = await createTestNetwork()
    const bot = await network.bot((b) => {
      b.use(autoAcceptContacts())
      b.catch(async (error) => { if (error.ctx.type === 'message') await error.ctx.reply(`refused: ${(error.error as Error).message}`) })
      b.command('bad-reaction', async (ctx) => { await ctx.react('not an emoji') })
      b.command('bad-buttons', async (ctx) => { await ctx.reply('pick', { buttons: [[{ label: '', payload: 'x' }]] }) })
    })
    const alice = await network.user('alice')
    await alice.addContact(bot)
    await alice.send('/bad-reaction')
    expect(await alice.nextReply()).toBe('refused: emoji: a reaction has no spaces')
    await alice.send('/bad-buttons')
    expect(await alice.nextReply()).toBe('refused: buttons.0.0.label: a button label cannot be empty')
  })
})
