/**
 * `/announce now`: an announcement sent right away. One to every channel at
 * once cannot be taken back, and a command typed in haste (or in the wrong
 * conversation) should not make one: when it would reach every channel and
 * there are several, the bot asks first, with two buttons, "Send now" and
 * "Cancel". The question waits in the bot's state (for an hour, at most a
 * few at once); any admin may answer it, and once answered it loses its
 * buttons, so that it is answered once.
 */
import type { ButtonContext, CommandContext } from 'bertybot'
import { z } from 'zod'
import { adminOnly, isAdmin, now, REFUSAL, stateOf, who, type AnnounceApp } from './app.ts'
import { describeRecipients, parseRecipients, resolveRecipients } from './audience.ts'
import type { AnnounceState, Recipients } from './state.ts'

/** How long a question waits for its answer. */
const CONFIRM_WITHIN_MS = 60 * 60_000
/** Questions kept waiting at once; asking more forgets the oldest. */
const MAX_WAITING = 20
const ANSWER = /^announce:now:(send|cancel):(\d+)$/

/** Sends `text` to `to` now, records it, and says how many conversations it went to. */
async function sendNow (ctx: CommandContext<unknown> | ButtonContext, state: AnnounceState, text: string, to: Recipients): Promise<number> {
  const { groups } = await resolveRecipients(ctx.conversations, state, to)
  for (const group of groups) await ctx.send(group, text)
  await state.record(who(ctx.sender), `sent now to ${describeRecipients(to)}: ${text.slice(0, 60)}`, new Date(ctx.clock.now()))
  return groups.length
}

const sentTo = (n: number): string => `Sent to ${n} conversation${n === 1 ? '' : 's'}.`

export function setupAnnounceNow (app: AnnounceApp, text: z.ZodString): void {
  const { bot } = app

  bot.command('announce now', {
    args: z.object({ text, to: z.string().optional() }),
    flags: ['to'],
    description: 'announce right away: /announce now Lunch is served [--to channel] (to every channel, after you confirm)'
  }, adminOnly(app, async (ctx) => {
    const state = stateOf(ctx)
    const channels = await state.channels()
    const to = parseRecipients(ctx.args.to, channels)
    if (typeof to === 'object' && 'error' in to) return await ctx.reply(to.error)
    const reached = channels.filter((c) => ctx.conversations.get(c.group) !== undefined).length
    if (to !== 'everyone' || reached < 2) return await ctx.reply(sentTo(await sendNow(ctx, state, ctx.args.text, to)))

    const { groups } = await resolveRecipients(ctx.conversations, state, to)
    const id = String(await state.nextNumber('confirmation'))
    const waiting = await state.confirmations()
    waiting.set(id, { text: ctx.args.text, to, askedBy: who(ctx.sender), askedAt: now(app).toISOString() })
    await state.saveConfirmations(new Map([...waiting].slice(-MAX_WAITING)))
    await ctx.reply(`Send this to all ${reached} channels and the subscribers now (${groups.length} conversations)?\n\n${ctx.args.text}`, {
      buttons: [[{ label: 'Send now', payload: `announce:now:send:${id}` }, { label: 'Cancel', payload: `announce:now:cancel:${id}` }]]
    })
  }))

  bot.onButton(ANSWER, async (ctx) => {
    if (!isAdmin(app, ctx.sender.account)) return await ctx.reply(REFUSAL)
    const [, answer, id = ''] = ctx.match as RegExpMatchArray
    const state = stateOf(ctx)
    const waiting = await state.confirmations()
    const question = waiting.get(id)
    if (question === undefined) return await ctx.reply('That announcement was answered already.')
    waiting.delete(id)
    await state.saveConfirmations(waiting)
    if (now(app).getTime() - Date.parse(question.askedAt) > CONFIRM_WITHIN_MS) {
      return await ctx.edit(ctx.target, `Not sent: the question waited more than an hour. /announce now again to send it.\n\n${question.text}`)
    }
    if (answer === 'cancel') {
      await state.record(who(ctx.sender), `cancelled sending now to ${describeRecipients(question.to)}: ${question.text.slice(0, 60)}`, now(app))
      return await ctx.edit(ctx.target, `Not sent (cancelled by ${who(ctx.sender)}).\n\n${question.text}`)
    }
    await ctx.edit(ctx.target, `${sentTo(await sendNow(ctx, state, question.text, question.to))}\n\n${question.text}`)
  })
}
