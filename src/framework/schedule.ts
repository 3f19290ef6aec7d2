/**
 * Schedules: cron expressions (node-cron's language, with seconds optional and
 * a time zone), or a single instant (a one-off), run on the bot's clock. node-cron parses, validates and
 * matches; the timing loop is ours, so that it follows the bot's clock (a
 * fake one in tests) and knows, after a restart, what ran and what was missed.
 *
 * Each run's time is stored with its effects (in the same transaction), so a
 * restart never runs an occurrence twice. An occurrence that fell while the
 * bot was down (looking back up to a week) is run once, late, or skipped with
 * a log line (`missed: 'skip'`): never skipped silently. A one-off is removed
 * once it ran (or was skipped); added again after that, it does not run again.
 */
import nodeCron, { type ScheduledTask } from 'node-cron'
import { NotRunningError, type Logger, type Clock } from '../protocol/index.ts'
import { ScheduleError } from './errors.ts'
import type { BotStore } from './store.ts'
import { isTimeZone, notATimeZone } from './time-zones.ts'

export interface ScheduleOptions {
  /** IANA time zone the expression is read in; the bot's `timezone` by default. */
  timezone?: string
  /** A stable name, under which the last run is stored. Default: the expression (numbered if repeated). */
  name?: string
  /** What to do with an occurrence missed while the bot was down: run it once, late (default), or skip it. */
  missed?: 'run' | 'skip'
}

export interface Schedule {
  readonly name: string
  /** The cron expression, or the one-off's instant in ISO 8601. */
  readonly expression: string
  /** For a one-off: when it runs. */
  readonly once: Date | undefined
  readonly timezone: string
  readonly missed: 'run' | 'skip'
}

interface Entry<H> extends Schedule {
  /** What runs it. */
  handler: H
  /** The cron task that matches times (node-cron's matcher); none for a one-off. */
  task: ScheduledTask | undefined
  /** A one-off's second, in ms. */
  at: number | undefined
}

const SECOND = 1000
const MINUTE = 60 * SECOND
/** How far back a restart looks for a missed occurrence. */
const LOOKBACK_MS = 7 * 24 * 60 * MINUTE

/** Checks an expression and a time zone; throws `ScheduleError` saying what is wrong. */
export function validateSchedule (expression: string, timezone: string): void {
  const check = nodeCron.validateDetailed(expression)
  if (!check.valid) {
    const details = check.errors.map((e) => cronProblem(e.field, e.value ?? '')).join('; ')
    throw new ScheduleError(`"${expression}" is not a cron expression (${details === '' ? FIELDS_HELP : details})`)
  }
  if (!isTimeZone(timezone)) throw new ScheduleError(notATimeZone(timezone))
}

const FIELDS_HELP = 'it has 5 fields, minute hour day-of-month month day-of-week, or 6 with seconds first: "0 9 * * 1-5" is 9:00 on weekdays'

/** What each field of a cron expression takes, for messages in our words (node-cron's say "61 is a invalid expression for minute"). */
const CRON_FIELDS: Record<string, string> = {
  second: 'a second (0-59)',
  minute: 'a minute (0-59)',
  hour: 'an hour (0-23)',
  dayOfMonth: 'a day of the month (1-31)',
  month: 'a month (1-12 or jan-dec)',
  dayOfWeek: 'a day of the week (0-7 or sun-sat, 0 and 7 both Sunday)'
}

function cronProblem (field: string, value: string): string {
  if (field === 'expression') {
    const fields = value.trim() === '' ? 0 : value.trim().split(/\s+/).length
    return `${fields} field${fields === 1 ? '' : 's'} where ${FIELDS_HELP}`
  }
  const takes = CRON_FIELDS[field]
  return takes === undefined ? `"${value}" is not valid there` : `"${value}" is not ${takes}`
}

/** The first time after `after` that a cron expression matches in `timezone` (validated first). */
export function nextOccurrence (expression: string, timezone: string, after: Date | number): Date | undefined {
  validateSchedule(expression, timezone)
  const task = nodeCron.createTask(expression, () => {}, { timezone })
  try {
    return nextMatch(task, Number(after))
  } finally {
    void task.destroy()
  }
}

function nextMatch (task: ScheduledTask, from: number): Date | undefined {
  // node-cron computes it, but does not declare the matcher that does in its types.
  const matcher = (task as unknown as { timeMatcher?: { getNextMatch?: (date: Date) => Date } }).timeMatcher
  if (typeof matcher?.getNextMatch === 'function') return matcher.getNextMatch(new Date(from))
  for (let t = (Math.floor(from / MINUTE) + 1) * MINUTE; t < from + 62 * 24 * 60 * MINUTE; t += MINUTE) {
    if (task.match(new Date(t))) return new Date(t)
  }
  return undefined
}

/** What runs a schedule that fell due: its handler, with when it was due and whether that is late. */
export type ScheduleRunner<H> = (schedule: Schedule, handler: H, scheduledAt: number, late: boolean) => Promise<void>

/**
 * The bot's schedules, each with its handler: added before the bot starts or
 * while it runs, run once started (`start`), each occurrence once, across
 * restarts too (the store keeps each schedule's last run).
 */
export class Scheduler<H> {
  readonly #entries: Array<Entry<H>> = []
  readonly #clock: Clock
  readonly #logger: Logger
  readonly #defaultTimezone: string
  readonly #stop = new AbortController()
  /** Set by `start`. */
  #running: { store: BotStore, run: ScheduleRunner<H> } | undefined
  #loop: Promise<void> | undefined
  /**
   * Schedule name → its run under way. Runs of one name happen one after
   * another, even across a remove and add again, so the last-run check before
   * each is sound.
   */
  readonly #busy = new Map<string, Promise<void>>()

  constructor (options: { clock: Clock, logger: Logger, defaultTimezone: string }) {
    this.#clock = options.clock
    this.#logger = options.logger
    this.#defaultTimezone = options.defaultTimezone
  }

  /** Adds a cron schedule, or a one-off when `when` is a date, run by `handler`. */
  add (when: string | Date, handler: H, options: ScheduleOptions = {}): Schedule {
    if (this.#stop.signal.aborted) throw new NotRunningError('cannot add a schedule to a bot that stopped')
    const timezone = options.timezone ?? this.#defaultTimezone
    const once = when instanceof Date
    if (once) {
      if (Number.isNaN(when.getTime())) throw new ScheduleError('a one-off schedule needs a valid date')
      validateSchedule('* * * * *', timezone)
    } else {
      validateSchedule(when, timezone)
    }
    const expression = once ? when.toISOString() : when
    let name = options.name ?? expression
    if (options.name === undefined) {
      for (let n = 2; this.#entries.some((e) => e.name === name); n++) name = `${expression} #${n}`
    } else if (this.#entries.some((e) => e.name === name)) {
      throw new ScheduleError(`a schedule named "${name}" exists already`)
    }
    const entry: Entry<H> = {
      name,
      expression,
      once: once ? when : undefined,
      timezone,
      missed: options.missed ?? 'run',
      handler,
      task: once ? undefined : nodeCron.createTask(when, () => {}, { timezone, name }),
      at: once ? Math.ceil(when.getTime() / SECOND) * SECOND : undefined
    }
    this.#entries.push(entry)
    // Added while running (a schedule kept in the bot's state, set up again after a restart):
    // it may have missed a run too.
    if (this.#running !== undefined) {
      this.#catchUp(entry).catch((err: unknown) => { this.#logger.error({ err, schedule: name }, 'catching up on a schedule failed') })
      this.#ensureLoop()
    }
    return describe(entry)
  }

  /** Stops a schedule; true if there was one of that name. */
  remove (name: string): boolean {
    const i = this.#entries.findIndex((e) => e.name === name)
    if (i === -1) return false
    const [entry] = this.#entries.splice(i, 1)
    void entry?.task?.destroy()
    return true
  }

  /** Removes this very entry (not another added since under its name). */
  #drop (entry: Entry<H>): void {
    const i = this.#entries.indexOf(entry)
    if (i === -1) return
    this.#entries.splice(i, 1)
    void entry.task?.destroy()
  }

  /** When `name` runs next after `from` (now by default), on the bot's clock. */
  nextRun (name: string, from = this.#clock.now()): Date | undefined {
    const entry = this.#entries.find((e) => e.name === name)
    return entry === undefined ? undefined : nextRunOf(entry, from)
  }

  /** The schedules, with when each runs next (once started). */
  list (): Array<Schedule & { nextRun: Date | undefined }> {
    const from = this.#clock.now()
    return this.#entries.map((entry) => ({ ...describe(entry), nextRun: this.#running === undefined ? undefined : nextRunOf(entry, from) }))
  }

  /** Catches up on missed occurrences (their last runs are in `store`), then has `run` run each schedule when due. */
  async start (store: BotStore, run: ScheduleRunner<H>): Promise<void> {
    if (this.#running !== undefined) return
    this.#running = { store, run }
    for (const entry of [...this.#entries]) await this.#catchUp(entry)
    this.#ensureLoop()
  }

  #ensureLoop (): void {
    if (this.#loop !== undefined || this.#entries.length === 0 || this.#stop.signal.aborted) return
    this.#loop = this.#tick().catch((err: unknown) => {
      if (!this.#stop.signal.aborted) this.#logger.error({ err }, 'the scheduler stopped')
    })
  }

  async stop (): Promise<void> {
    this.#stop.abort()
    await this.#loop
    for (const entry of this.#entries) await entry.task?.destroy()
  }

  async #tick (): Promise<void> {
    let cursor = Math.floor(this.#clock.now() / SECOND) * SECOND
    while (!this.#stop.signal.aborted) {
      await this.#clock.sleepUntil(cursor + SECOND, this.#stop.signal)
      // Every second up to now, even when the clock jumped (a busy machine, a test's fake clock).
      while (cursor + SECOND <= this.#clock.now() && !this.#stop.signal.aborted) {
        cursor += SECOND
        const at = new Date(cursor)
        for (const entry of [...this.#entries]) {
          if (entry.task === undefined ? entry.at === cursor : entry.task.match(at)) await this.#due(entry, cursor, false)
        }
      }
    }
  }

  /** Runs `step` after whatever is under way for this schedule's name. */
  async #serialized<T> (name: string, step: () => Promise<T>): Promise<T> {
    const result = (this.#busy.get(name) ?? Promise.resolve()).then(step)
    const settled = result.then(() => {}, () => {})
    this.#busy.set(name, settled)
    try {
      return await result
    } finally {
      if (this.#busy.get(name) === settled) this.#busy.delete(name)
    }
  }

  /** The store and runner, once started (only started schedulers run or catch up). */
  #started (): { store: BotStore, run: ScheduleRunner<H> } {
    if (this.#running === undefined) throw new NotRunningError('the scheduler is not started')
    return this.#running
  }

  async #due (entry: Entry<H>, at: number, late: boolean): Promise<void> {
    const { store, run } = this.#started()
    await this.#serialized(entry.name, async () => {
      // Removed (or replaced) meanwhile: not this entry's to run.
      if (!this.#entries.includes(entry)) return
      const last = await store.lastRun(entry.name)
      if (last !== undefined && last >= at) return
      try {
        await run(describe(entry), entry.handler, at, late)
      } catch (err) {
        this.#logger.error({ err, schedule: entry.name }, 'a scheduled run failed')
      }
    })
    if (entry.at !== undefined) this.#drop(entry)
  }

  async #catchUp (entry: Entry<H>): Promise<void> {
    const { store } = this.#started()
    const missed = await this.#serialized(entry.name, async () => await this.#missedRun(entry))
    if (missed === undefined) return
    if (entry.missed === 'skip') {
      this.#logger.warn({ schedule: entry.name, due: new Date(missed).toISOString() }, 'skipped a scheduled run missed while the bot was down')
      await this.#serialized(entry.name, async () => { await store.setLastRun(entry.name, missed) })
      if (entry.at !== undefined) this.#drop(entry)
      return
    }
    this.#logger.info({ schedule: entry.name, due: new Date(missed).toISOString() }, 'running a scheduled run missed while the bot was down, late')
    await this.#due(entry, missed, true)
  }

  /** The latest occurrence that fell due unrun while the bot was down, if any. */
  async #missedRun (entry: Entry<H>): Promise<number | undefined> {
    const { store } = this.#started()
    const last = await store.lastRun(entry.name)
    const now = this.#clock.now()
    if (entry.at !== undefined) {
      // A one-off that has run is done; one whose time passed unrun was missed.
      if (last !== undefined && last >= entry.at) {
        this.#drop(entry)
        return undefined
      }
      return entry.at <= now ? entry.at : undefined
    }
    if (last === undefined) {
      // A cron schedule seen for the first time has missed nothing; from this
      // moment on, what it misses while the bot is down is caught up. (From the
      // start of this minute, it took an occurrence earlier in the minute, before
      // the schedule existed, for one missed at the next restart: an announcement
      // resumed at 09:00:30 was sent "late" for 09:00.)
      await store.setLastRun(entry.name, now)
      return undefined
    }
    for (let t = Math.floor(now / MINUTE) * MINUTE; t >= Math.max(last + 1, now - LOOKBACK_MS); t -= MINUTE) {
      if (entry.task?.match(new Date(t)) === true) return t
    }
    return undefined
  }
}

function nextRunOf (entry: Entry<unknown>, from: number): Date | undefined {
  if (entry.task === undefined) return entry.at !== undefined && entry.at > from ? new Date(entry.at) : undefined
  return nextMatch(entry.task, from)
}

function describe ({ name, expression, once, timezone, missed }: Schedule): Schedule {
  return { name, expression, once, timezone, missed }
}
