/**
 * Dialogues: questions asked one after another to one person in one
 * conversation, written as one async function, that survive restarts.
 *
 * ```ts
 * const booking = bot.dialogue('booking', async (d) => {
 *   const city = await d.ask('Which city?', z.string().min(2))
 *   const nights = await d.ask('How many nights?', z.coerce.number().int().min(1).max(30))
 *   await d.reply(`Booked: ${nights} nights in ${city}.`)
 * })
 * bot.command('book', (ctx) => booking.enter(ctx))
 * ```
 *
 * Where a dialogue is lives in the bot store (`dialogue-records.ts`), not in
 * memory: each answer runs the function again from the start, giving back
 * the answers and results recorded (`dialogue-step.ts`), until the question
 * waiting takes the new answer; then it runs on to the next question. The
 * step's record, the question it queues and the mark that the answer was
 * handled are committed together, in the handler's transaction: a crash
 * leaves the answer unhandled (it is delivered again) or taken and the next
 * question on its way, never both, never neither.
 *
 * While a dialogue waits, the person's messages in that conversation are its
 * answers, before commands and handlers see them; `/cancel` ends it, and so
 * does its timeout (on the bot's clock, from the last question). Other
 * people's messages, and the person's in other conversations, go on as usual.
 */
import { NotRunningError, type Clock, type Logger } from '../protocol/index.ts'
import type { Middleware } from './composer.ts'
import { transactionOf } from './context-base.ts'
import type { CommandContext, Context, TaskContext } from './context.ts'
import { DialogueActiveError, DialogueDefinitionError, DialogueReplayError, DialogueStepError, DialogueUsageError } from './dialogue-errors.ts'
import { deleteRecord, parseRecord, readRecord, recordKey, writeRecord, type DialogueRecord } from './dialogue-records.ts'
import { runStep, type DialogueEventContext, type DialogueFunction } from './dialogue-step.ts'
import { DeadlineTimers } from './dialogue-timers.ts'
import type { BotError } from './errors.ts'

export { DIALOGUE_SCOPE } from './dialogue-records.ts'
export type { DialogueFunction } from './dialogue-step.ts'

export interface DialogueTexts {
  /** Sent when `/cancel` ends the dialogue. */
  cancelled: string
  /** Sent when no answer came in time. */
  timedOut: string
  /** Sent when the dialogue ends because a step failed (`onError: 'end'`) or it cannot resume. */
  ended: string
  /** What a bad answer is told, before the question again; `reason` is the schema's message. */
  invalid: (reason: string) => string
}

export interface DialogueOptions {
  /** How long an answer is waited for, from the last question, on the bot's clock. Default: 10 minutes. */
  timeoutMs?: number
  /**
   * When the function throws on a step: `'keep'` (default) leaves the
   * dialogue at the question it was at (the step leaves no trace, the error
   * handler runs, then the question is asked again); `'end'` ends it.
   */
  onError?: 'keep' | 'end'
  /** The bot's words, in its language. */
  texts?: Partial<DialogueTexts>
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000
const DEFAULT_TEXTS: DialogueTexts = {
  cancelled: 'Cancelled.',
  timedOut: 'No answer came in time, so I stopped asking. Start again whenever you like.',
  ended: 'Sorry, this conversation cannot go on: it has ended.',
  invalid: (reason) => `Not a valid answer - ${reason}.`
}
const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/i
/** `/cancel`, alone or with words after it. */
const CANCEL = /^\/cancel(?:\s|$)/i

interface Registered {
  fn: DialogueFunction<any>
  timeoutMs: number
  onError: 'keep' | 'end'
  texts: DialogueTexts
}

/** What the registry needs of the bot. */
export interface DialoguesDeps {
  clock: Clock
  logger: Logger
}

/** What the registry needs of the bot once it runs. */
export interface RunningDialoguesDeps {
  /** A task on a transaction of its own (as `bot.run`'s): for timeouts. */
  run: (fn: (ctx: TaskContext) => Promise<void>) => Promise<void>
  /** The records kept in the store's state under `DIALOGUE_SCOPE` (key, value), read at start. */
  records: () => Promise<Array<[string, unknown]>>
}

/** A dialogue, as `bot.dialogue()` registered it: enter it from a handler. */
export class Dialogue<I = undefined> {
  readonly name: string
  readonly #dialogues: Dialogues

  /** @internal */
  constructor (name: string, dialogues: Dialogues) {
    this.name = name
    this.#dialogues = dialogues
  }

  /**
   * Starts the dialogue with the person of `ctx` (who sent the message, the
   * contact accepted, the member who joined) in its conversation: the
   * function runs up to its first question, which is queued with the
   * handler's effects. Rejects with `DialogueActiveError` if the person
   * already has a dialogue under way there, and with `DialogueStepError` if
   * the function throws before its first question (then it did not start).
   */
  async enter (ctx: DialogueEventContext, ...input: undefined extends I ? [input?: I] : [input: I]): Promise<void> {
    await this.#dialogues.enter(this.name, ctx, input[0])
  }

  /** Whether the person of `ctx` is in this dialogue in its conversation. */
  async active (ctx: DialogueEventContext): Promise<boolean> {
    return await this.#dialogues.activeName(ctx) === this.name
  }
}

/** The bot's dialogues: registered by name, run by the middleware, timed out by their deadlines. */
export class Dialogues {
  readonly #deps: DialoguesDeps
  readonly #registered = new Map<string, Registered>()
  readonly #timers: DeadlineTimers
  #running: RunningDialoguesDeps | undefined

  constructor (deps: DialoguesDeps) {
    this.#deps = deps
    this.#timers = new DeadlineTimers({ clock: deps.clock, logger: deps.logger, expire: async (key) => { await this.#expire(key) } })
  }

  get size (): number {
    return this.#registered.size
  }

  add<I> (name: string, fn: DialogueFunction<I>, options: DialogueOptions = {}): Dialogue<I> {
    if (!NAME.test(name)) throw new DialogueDefinitionError(`"${name}" is not a dialogue name: letters, digits, - and _, at most 64`)
    if (this.#registered.has(name)) throw new DialogueDefinitionError(`dialogue "${name}" is defined twice`)
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) throw new DialogueDefinitionError(`the timeout of dialogue "${name}" is not a positive number of milliseconds`)
    this.#registered.set(name, { fn, timeoutMs, onError: options.onError ?? 'keep', texts: { ...DEFAULT_TEXTS, ...options.texts } })
    return new Dialogue<I>(name, this)
  }

  /** Arms the timeouts of the dialogues kept in the store (those that passed meanwhile fall due at once). */
  async start (running: RunningDialoguesDeps): Promise<void> {
    this.#running = running
    const deadlines: Array<[string, number]> = []
    for (const [key, value] of await running.records()) {
      // A damaged record falls due at once: its expiry drops it.
      deadlines.push([key, parseRecord(value, key, this.#deps.logger)?.deadline ?? 0])
    }
    this.#timers.start(deadlines)
  }

  async stop (): Promise<void> {
    await this.#timers.stop()
  }

  /** @internal */
  async enter (name: string, ctx: DialogueEventContext, input: unknown): Promise<void> {
    const { group, user } = personOf(ctx)
    const tx = transactionOf(ctx)
    const key = recordKey(group, user)
    const existing = await readRecord(tx, key, ctx.log)
    if (existing !== undefined) {
      if (existing.deadline > ctx.clock.now()) throw new DialogueActiveError(existing.name)
      await this.#end(ctx, key, existing, 'timedOut')
    }
    const kept = input === undefined ? undefined : JSON.parse(JSON.stringify(input)) as DialogueRecord['input']
    const record: DialogueRecord = { name, group, user, ...(kept === undefined ? {} : { input: kept }), steps: [], question: '', deadline: 0, startedAt: ctx.clock.now() }
    await this.#step(ctx, key, record, undefined)
  }

  /** @internal The name of the dialogue the person of `ctx` is in there, if any. */
  async activeName (ctx: DialogueEventContext): Promise<string | undefined> {
    const { group, user } = personOf(ctx)
    const record = await readRecord(transactionOf(ctx), recordKey(group, user), ctx.log)
    return record !== undefined && record.deadline > ctx.clock.now() ? record.name : undefined
  }

  /** Takes the messages of people in a dialogue as its answers (or `/cancel`); the rest goes on to `next`. */
  middleware (): Middleware<Context> {
    return async (ctx, next) => {
      if (this.#registered.size === 0 || ctx.type !== 'message') return await next()
      const key = recordKey(ctx.group.id, ctx.sender.account)
      const record = await readRecord(transactionOf(ctx), key, ctx.log)
      if (record === undefined) return await next()
      if (record.deadline <= ctx.clock.now()) {
        // Its timer has not ended it yet: it ends now, and the message is an ordinary one.
        await this.#end(ctx, key, record, 'timedOut')
        return await next()
      }
      if (CANCEL.test(ctx.text.trim())) return await this.#end(ctx, key, record, 'cancelled')
      if (!this.#registered.has(record.name)) {
        ctx.log.warn({ dialogue: record.name }, 'a dialogue under way is not registered any more: it ends, and the message is an ordinary one')
        await this.#end(ctx, key, record, 'ended')
        return await next()
      }
      await this.#step(ctx, key, record, ctx.text)
    }
  }

  /** `/cancel` when no dialogue is under way (a bot with dialogues gets it unless it has its own). */
  readonly nothingToCancel: Middleware<CommandContext<Record<string, never>>> = async (ctx) => {
    await ctx.reply('There is nothing to cancel.')
  }

  /**
   * Wraps the bot's error handler: once it ran, a dialogue whose step
   * failed is asked its question again (`onError: 'keep'`) or ended, in the
   * same transaction as the handler's reply (the step's own effects were
   * dropped).
   */
  afterErrors (handler: (error: BotError<Context>) => unknown): (error: BotError<Context>) => Promise<void> {
    return async (error) => {
      try {
        await handler(error)
      } finally {
        await this.#recover(error)
      }
    }
  }

  async #recover (error: BotError<Context>): Promise<void> {
    const failure = error.error
    if (!(failure instanceof DialogueStepError || failure instanceof DialogueReplayError || failure instanceof DialogueUsageError)) return
    const ctx = error.ctx
    if (ctx.type !== 'message' && ctx.type !== 'contactAccepted' && ctx.type !== 'memberJoined') return
    const { group, user } = personOf(ctx)
    const key = recordKey(group, user)
    const record = await readRecord(transactionOf(ctx), key, ctx.log)
    // None: it failed before its first question, and never started.
    if (record === undefined || record.deadline <= ctx.clock.now()) return
    const registered = this.#registered.get(record.name)
    if (failure instanceof DialogueStepError && registered?.onError === 'keep') {
      // Asked again as after a bad answer: in a group, answering the person's message.
      if (ctx.type === 'message' && ctx.group.kind === 'multi-member') await ctx.reply(record.question, { quote: true })
      else await ctx.send(record.group, record.question)
      this.#arm(ctx, key, record)
    } else {
      ctx.log.info({ dialogue: record.name, code: failure.code }, 'a dialogue ended: a step failed')
      await this.#end(ctx, key, record, 'ended')
    }
  }

  /** Runs the dialogue's function for one step, and records where it stands. */
  async #step (ctx: DialogueEventContext, key: string, record: DialogueRecord, answer: string | undefined): Promise<void> {
    const registered = this.#registered.get(record.name)
    if (registered === undefined) throw new DialogueUsageError(`no dialogue is named "${record.name}"`)
    const tx = transactionOf(ctx)
    const outcome = await runStep({
      name: record.name, fn: registered.fn, ctx, tx, input: record.input, group: record.group, user: record.user,
      steps: record.steps, answer, invalid: registered.texts.invalid
    })
    if (outcome.kind === 'failed') throw outcome.error
    if (outcome.kind === 'done') {
      deleteRecord(tx, key)
      tx.afterCommit(() => { this.#timers.disarm(key) })
    } else {
      this.#arm(ctx, key, { ...record, steps: outcome.steps, question: outcome.question })
    }
  }

  /** Records the dialogue as waiting for an answer to `record.question`, from now until its timeout. */
  #arm (ctx: Context | TaskContext, key: string, record: DialogueRecord): void {
    const deadline = ctx.clock.now() + (this.#registered.get(record.name)?.timeoutMs ?? DEFAULT_TIMEOUT_MS)
    writeRecord(transactionOf(ctx), key, { ...record, deadline })
    ctx.afterCommit(() => { this.#timers.arm(key, deadline) })
  }

  /** Ends a dialogue with `why`'s text, in the transaction of `ctx`. */
  async #end (ctx: Context | TaskContext, key: string, record: DialogueRecord, why: 'cancelled' | 'timedOut' | 'ended'): Promise<void> {
    deleteRecord(transactionOf(ctx), key)
    ctx.afterCommit(() => { this.#timers.disarm(key) })
    const texts = this.#registered.get(record.name)?.texts ?? DEFAULT_TEXTS
    // A conversation the bot has left gets no message.
    if (ctx.conversations.get(record.group) !== undefined) await ctx.send(record.group, texts[why])
  }

  /** A deadline fell due: the dialogue ends, unless an answer moved it meanwhile. */
  async #expire (key: string): Promise<void> {
    if (this.#running === undefined) throw new NotRunningError('the dialogues are not started')
    await this.#running.run(async (ctx) => {
      const record = await readRecord(transactionOf(ctx), key, ctx.log)
      if (record === undefined) return
      if (record.deadline > ctx.clock.now()) {
        ctx.afterCommit(() => { this.#timers.arm(key, record.deadline) })
        return
      }
      await this.#end(ctx, key, record, 'timedOut')
    })
  }
}

/** The person and conversation of an event a dialogue runs on. */
function personOf (ctx: DialogueEventContext): { group: string, user: string } {
  switch (ctx.type) {
    case 'message': return { group: ctx.group.id, user: ctx.sender.account }
    case 'contactAccepted': return { group: ctx.group.id, user: ctx.contact.account }
    case 'memberJoined': return { group: ctx.group.id, user: ctx.member.account }
    default: throw new DialogueUsageError(`a dialogue runs on a message, contactAccepted or memberJoined event, not ${(ctx as Context).type}`)
  }
}
