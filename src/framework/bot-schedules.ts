/**
 * The bot's schedules and their handlers: kept until the bot starts, then
 * handed to the scheduler; added and removed while it runs.
 */
import type { Middleware } from './composer.ts'
import type { ScheduleContext } from './context.ts'
import { ScheduleError } from './errors.ts'
import { validateSchedule, type Schedule, type ScheduleOptions, type Scheduler } from './schedule.ts'

type Handler = Middleware<ScheduleContext>

export class BotSchedules {
  readonly #defaultTimezone: string
  readonly #waiting: Array<{ when: string | Date, handler: Handler, options: ScheduleOptions }> = []
  /** Schedule name (as the scheduler made it unique) → its handler. */
  readonly #handlers = new Map<string, Handler>()
  #scheduler: Scheduler | undefined

  constructor (defaultTimezone: string) {
    this.#defaultTimezone = defaultTimezone
  }

  add (when: string | Date, handler: Handler, options: ScheduleOptions): void {
    const scheduler = this.#scheduler
    if (scheduler === undefined) {
      if (typeof when === 'string') validateSchedule(when, options.timezone ?? this.#defaultTimezone)
      this.#waiting.push({ when, handler, options })
      return
    }
    const name = options.name
    const names = new Set(scheduler.list().map((s) => s.name))
    // Forget the handlers of schedules gone since (one-offs that ran).
    for (const known of this.#handlers.keys()) if (!names.has(known)) this.#handlers.delete(known)
    if (name !== undefined) {
      if (names.has(name)) throw new ScheduleError(`a schedule named "${name}" exists already`)
      // Known before the scheduler may run an occurrence missed while the bot was down.
      this.#handlers.set(name, handler)
    }
    try {
      const schedule = scheduler.add(when, { ...options, timezone: options.timezone ?? this.#defaultTimezone })
      this.#handlers.set(schedule.name, handler)
    } catch (err) {
      if (name !== undefined) this.#handlers.delete(name)
      throw err
    }
  }

  /** Hands the schedules added so far to the scheduler, and the later ones as they come. */
  attach (scheduler: Scheduler): void {
    this.#scheduler = scheduler
    for (const { when, handler, options } of this.#waiting.splice(0)) this.add(when, handler, options)
  }

  remove (name: string): boolean {
    const waiting = this.#waiting.findIndex((s) => s.options.name === name)
    if (waiting !== -1) this.#waiting.splice(waiting, 1)
    this.#handlers.delete(name)
    return (this.#scheduler?.remove(name) ?? false) || waiting !== -1
  }

  list (): Array<Schedule & { nextRun: Date | undefined }> {
    const scheduler = this.#scheduler
    return scheduler?.list().map((s) => ({ ...s, nextRun: scheduler.nextRun(s.name) })) ?? []
  }

  handler (name: string): Handler | undefined {
    return this.#handlers.get(name)
  }
}
