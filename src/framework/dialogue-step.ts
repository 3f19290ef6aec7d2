/**
 * One step of a dialogue: its function run from the start on the handler's
 * transaction. The steps it took before are replayed from its record
 * (answers given back, replies not sent again, externals' results given
 * back); from the first step not recorded it runs live: the answer being
 * handled is taken by the question waiting for it, and the run stops at the
 * next question, which is queued. What the function did through the context
 * while it replayed is rolled back, so it counts once, at the step where it
 * first ran. The caller commits the outcome with the message it answers.
 */
import type { z } from 'zod'
import type { ContactAcceptedContext, MemberJoinedContext, MessageContext } from './context.ts'
import { DialogueExternalError, DialogueReplayError, DialogueStepError, DialogueUsageError } from './dialogue-errors.ts'
import type { Step } from './dialogue-records.ts'
import type { SendOptions } from './effects.ts'
import type { Savepoint, Transaction } from './transaction.ts'

/** The events a dialogue runs on: the one that entered it (a message, a contact accepted, a member joined), then each answer. */
export type DialogueEventContext = MessageContext | ContactAcceptedContext | MemberJoinedContext

/** A dialogue's function: `d` asks and replies; `ctx` is the event handled now (the one that entered, then each answer). */
export type DialogueFunction<I> = (d: DialogueControl<I>, ctx: DialogueEventContext) => unknown

/** What a step ends with: waiting at a question, finished, or failed (with a `DialogueStepError` or `DialogueReplayError`). */
export type StepOutcome =
  | { kind: 'waiting', steps: Step[], question: string }
  | { kind: 'done', steps: Step[] }
  | { kind: 'failed', error: DialogueStepError | DialogueReplayError | DialogueUsageError }

export interface StepInput<I> {
  name: string
  fn: DialogueFunction<I>
  ctx: DialogueEventContext
  tx: Transaction
  input: I
  group: string
  user: string
  /** The steps recorded so far. */
  steps: readonly Step[]
  /** The message taken as the answer to the question waiting (none when the dialogue starts). */
  answer: string | undefined
  /** What a bad answer is told, before the question again. */
  invalid: (reason: string) => string
}

/** A promise that never settles: what a step stops on (nothing holds it, so the function is collected). */
const never = <T>(): Promise<T> => new Promise<T>(() => {})

/**
 * What a dialogue's function is given: `ask` a question and get the answer,
 * `reply`, and run what must happen once with `external`.
 *
 * ```ts
 * const city = await d.ask('Which city?', z.string().min(2))
 * const price = await d.external(async () => await quote(city))
 * await d.reply(`${city}: ${price}`)
 * ```
 */
export class DialogueControl<I = undefined> {
  /** The dialogue's name. */
  readonly name: string
  /** What `enter()` was given (as JSON: the same at each step). */
  readonly input: I
  /** The person the dialogue is with (account id). */
  readonly user: string
  /** The conversation it happens in (`ctx.group.id`). */
  readonly groupId: string
  readonly #run: StepRun<I>

  /** @internal */
  constructor (run: StepRun<I>, input: StepInput<I>) {
    this.#run = run
    this.name = input.name
    this.input = input.input
    this.user = input.user
    this.groupId = input.group
  }

  /**
   * Asks `question` and resolves with the person's answer, as `schema`
   * (default: any text) reads it. A bad answer is told what is wrong (the
   * schema's message) and asked again. While the dialogue waits, the bot
   * may restart: it resumes here.
   */
  async ask (question: string): Promise<string>
  async ask<S extends z.ZodType> (question: string, schema: S): Promise<z.output<S>>
  async ask (question: string, schema?: z.ZodType): Promise<unknown> {
    return await this.#run.ask(question, schema)
  }

  /** Sends a message to the conversation, once: not again when the dialogue replays this step. */
  async reply (text: string, options: SendOptions = {}): Promise<void> {
    await this.#run.reply(text, options)
  }

  /**
   * Runs `fn` once and records what it resolves with (kept as JSON: a Date
   * comes back as a string, the first time as on replay) or the message of
   * what it throws (rejected as `DialogueExternalError`, then and on
   * replay). For what is not the same each time (a clock, a random number,
   * a service's answer) or must not happen twice (a booking).
   */
  async external<T> (fn: () => T | Promise<T>): Promise<T> {
    return await this.#run.external(fn) as T
  }

  /** The bot's clock, read once (a replay gives back the same time). */
  async now (): Promise<number> {
    return await this.#run.external(() => this.#run.clock()) as number
  }
}

/** Where the next step of a run falls: a step recorded (given back), one taken now at `index`, or none (the run is over). */
type Position = { kind: 'recorded', step: Step } | { kind: 'live', index: number } | { kind: 'over' }

/** @internal The bookkeeping of one run of the function. */
class StepRun<I> {
  readonly #in: StepInput<I>
  readonly #recorded: number
  /** The steps, by position: those taken now are written where they were called, whatever finishes first. */
  readonly #steps: Step[]
  readonly #savepoint: Savepoint
  #index = 0
  /** Past the recorded steps: taking them for the first time. */
  #live: boolean
  #answer: string | undefined
  /** A live step is under way (its schema or `external` running). */
  #busy = false
  #settle: (outcome: StepOutcome) => void = () => {}
  #settled = false

  constructor (input: StepInput<I>) {
    this.#in = input
    this.#steps = [...input.steps]
    this.#recorded = input.steps.length
    this.#answer = input.answer
    this.#live = input.answer === undefined
    this.#savepoint = input.tx.savepoint()
  }

  clock (): number {
    return this.#in.ctx.clock.now()
  }

  async run (): Promise<StepOutcome> {
    const { fn, name } = this.#in
    return await new Promise<StepOutcome>((resolve) => {
      this.#settle = (outcome) => {
        if (this.#settled) return
        this.#settled = true
        resolve(outcome)
      }
      void (async () => { await fn(new DialogueControl(this, this.#in), this.#in.ctx) })().then(() => {
        if (!this.#live) this.#fail(new DialogueReplayError(name, 'its function returned before the question it was waiting on'))
        else this.#stopAt(this.#index, (steps) => ({ kind: 'done', steps }))
      }, (err: unknown) => {
        if (err instanceof DialogueReplayError || err instanceof DialogueUsageError) this.#fail(err)
        else if (this.#live) this.#fail(new DialogueStepError(name, err))
        else this.#fail(new DialogueReplayError(name, `its function threw while replaying: ${err instanceof Error ? err.message : String(err)}`, { cause: err }))
      })
    })
  }

  async ask (question: string, schema: z.ZodType | undefined): Promise<unknown> {
    const at = this.#next('ask')
    if (at.kind === 'over') return await never()
    if (at.kind === 'recorded') {
      const { answer } = at.step as Extract<Step, { kind: 'ask' }>
      if (schema === undefined) return answer
      const parsed = await schema.safeParseAsync(answer)
      if (parsed.success) return parsed.data
      this.#fail(new DialogueReplayError(this.#in.name, `the answer recorded to "${question}" no longer passes its schema`))
      return await never()
    }
    const answer = this.#answer
    if (answer === undefined) return await this.#waitAt(at.index, question, question)
    this.#answer = undefined
    let value: unknown = answer
    if (schema !== undefined) {
      this.#busy = true
      const parsed = await schema.safeParseAsync(answer).finally(() => { this.#busy = false })
      if (!parsed.success) return await this.#waitAt(at.index, question, `${this.#in.invalid(parsed.error.issues[0]?.message ?? 'invalid')}\n${question}`)
      value = parsed.data
    }
    this.#steps[at.index] = { kind: 'ask', answer }
    return value
  }

  async reply (text: string, options: SendOptions): Promise<void> {
    const at = this.#next('reply')
    if (at.kind === 'over') return await never()
    if (at.kind === 'recorded') return
    await this.#in.ctx.reply(text, options)
    this.#steps[at.index] = { kind: 'reply' }
  }

  async external (fn: () => unknown): Promise<unknown> {
    const at = this.#next('external')
    if (at.kind === 'over') return await never()
    if (at.kind === 'recorded') {
      const { value, error } = at.step as Extract<Step, { kind: 'external' }>
      if (error !== undefined) throw new DialogueExternalError(error)
      return value
    }
    this.#busy = true
    let value: unknown
    try {
      value = await fn()
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      this.#steps[at.index] = { kind: 'external', error: message }
      throw new DialogueExternalError(message, { cause: err })
    } finally {
      this.#busy = false
    }
    let kept: unknown
    try {
      const json = JSON.stringify(value)
      kept = json === undefined ? undefined : JSON.parse(json)
    } catch (err) {
      this.#fail(new DialogueUsageError(`what external() resolves with is kept as JSON, and this cannot be: ${(err as Error).message}`))
      return await never()
    }
    this.#steps[at.index] = kept === undefined ? { kind: 'external' } : { kind: 'external', value: kept as Extract<Step, { kind: 'external' }>['value'] }
    return kept
  }

  /** Where the next step falls, checked against what was recorded there. */
  #next (kind: Step['kind']): Position {
    if (this.#settled) return { kind: 'over' }
    if (this.#busy) return this.#fail(new DialogueUsageError(`dialogue "${this.#in.name}" took a step while another was under way: await each ask, reply and external before the next`))
    const index = this.#index++
    const step = this.#steps[index]
    if (index < this.#recorded && step !== undefined) {
      if (step.kind === kind) return { kind: 'recorded', step }
      return this.#fail(new DialogueReplayError(this.#in.name, `its step ${index + 1} was ${describe(step.kind)} and is now ${describe(kind)}`))
    }
    if (!this.#live) {
      // The step it was waiting at: an answer is taken only by a question.
      if (kind !== 'ask') return this.#fail(new DialogueReplayError(this.#in.name, `its step ${index + 1} was the question waiting for an answer and is now ${describe(kind)}`))
      this.#live = true
      // What the replay did through the context was done at the step it first ran in.
      this.#in.tx.rollback(this.#savepoint)
    }
    return { kind: 'live', index }
  }

  /** Queues `text` (the question, or the reason and the question) and stops the run at the question, `index`. */
  async #waitAt (index: number, question: string, text: string): Promise<never> {
    const { ctx } = this.#in
    // In a group, the question answers the person's message, so that the others see whom it is for.
    const quote = ctx.type === 'message' && ctx.group.kind === 'multi-member'
    await (quote ? ctx.reply(text, { quote }) : ctx.reply(text))
    this.#stopAt(index, (steps) => ({ kind: 'waiting', steps, question }))
    return await never()
  }

  /** Ends the run with the steps before `index`, each of them taken and none after (else a step was not awaited). */
  #stopAt (index: number, outcome: (steps: Step[]) => StepOutcome): void {
    const steps = Array.from(this.#steps.slice(0, index))
    if (this.#steps.length > index || steps.some((step) => step === undefined)) {
      this.#fail(new DialogueUsageError(`dialogue "${this.#in.name}" went on while a step was not finished: await each ask, reply and external before the next`))
    } else {
      this.#settle(outcome(steps))
    }
  }

  #fail (error: DialogueStepError | DialogueReplayError | DialogueUsageError): Position {
    this.#settle({ kind: 'failed', error })
    return { kind: 'over' }
  }
}

function describe (kind: Step['kind']): string {
  return kind === 'ask' ? 'a question' : kind === 'reply' ? 'a reply' : 'an external call'
}

/** Runs one step of a dialogue; see the top of this file. */
export async function runStep<I> (input: StepInput<I>): Promise<StepOutcome> {
  return await new StepRun(input).run()
}
