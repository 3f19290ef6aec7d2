/**
 * Commands: `/name arguments`, where arguments are words, "quoted words" and
 * `--flag=value` (or `--flag value`, or `--flag` for a yes/no option). They
 * are mapped onto the command's zod object schema: flags by name, the other
 * words to the schema's non-boolean keys in order, extra words joined into the
 * last text argument (so `/say hello world` needs no quotes) or added to a
 * last list. Then validated: bad arguments get a reply that says which and
 * why, with the usage.
 *
 * Options listed in `flags` are given only as `--flag value`: words never
 * fill them, so `/remind tea at five --to ops` keeps "tea at five" as the text.
 *
 * A name of two words, `'announce add'`, is a subcommand: `/announce add ...`
 * runs it with its own arguments, and `/announce` alone (or with an unknown
 * word) answers with the usage of each subcommand.
 *
 * `/help` is generated from the descriptions (unless the bot defines its own);
 * an unknown command gets a did-you-mean reply.
 */
import { parseArgs } from 'node:util'
import { closest, distance } from 'fastest-levenshtein'
import { z } from 'zod'
import { compose, type Middleware } from './composer.ts'
import type { CommandContext, Context, MessageContext } from './context.ts'
import { CommandDefinitionError } from './errors.ts'

export type ArgsSchema = z.ZodObject<z.ZodRawShape>

export interface CommandOptions<S extends ArgsSchema | undefined = undefined> {
  /** What the command takes; `ctx.args` is its output. Without one the command takes no arguments. */
  args?: S
  /** One line for `/help`. */
  description?: string
  /** Other names for the same command. */
  aliases?: string[]
  /** Keys of `args` given only as `--key value`, never filled by words. */
  flags?: Array<S extends ArgsSchema ? keyof z.input<S> & string : never>
  /**
   * Who may run it: `'admin'`, only the group's admins (the others get a
   * polite refusal; a contact conversation has no admins). Anyone by default.
   */
  role?: CommandRole
}

export type CommandRole = 'admin'

export type ArgsOf<S> = S extends ArgsSchema ? z.output<S> : Record<string, never>

interface Command {
  name: string
  aliases: string[]
  description: string | undefined
  schema: ArgsSchema | undefined
  flags: string[]
  role: CommandRole | undefined
  handler: Middleware<CommandContext<any>>
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/i
/** `/name rest`, the name as a bot command name. */
const COMMAND_LINE = /^\/([a-z0-9][a-z0-9_-]*)(?:\s+([\s\S]*))?$/i

export class CommandRegistry {
  readonly #commands: Command[] = []
  readonly #byName = new Map<string, Command>()
  /** A command with subcommands → them. */
  readonly #parents = new Map<string, Command[]>()

  add (name: string, options: CommandOptions<ArgsSchema | undefined>, handler: Middleware<CommandContext<any>>): void {
    const names = [name, ...(options.aliases ?? [])]
    for (const n of names) {
      const words = n.split(' ')
      if (words.length > 2 || !words.every((w) => NAME.test(w))) {
        throw new CommandDefinitionError(`"${n}" is not a command name: letters, digits, - and _, at most 32; a subcommand is two such words`)
      }
      if (this.#byName.has(n.toLowerCase())) throw new CommandDefinitionError(`command /${n} is defined twice`)
      const [parent = ''] = words
      if (words.length === 2 ? this.#byName.has(parent.toLowerCase()) : this.#parents.has(n.toLowerCase())) {
        throw new CommandDefinitionError(`/${parent} cannot be both a command and a group of subcommands`)
      }
    }
    const flags = (options.flags ?? []) as string[]
    for (const flag of flags) {
      if (options.args?.shape[flag] === undefined) throw new CommandDefinitionError(`flag --${flag} of /${name} is not a key of its args`)
    }
    if (options.role !== undefined && options.role !== 'admin') throw new CommandDefinitionError(`/${name}: role "${String(options.role)}" is not one a command can require (only 'admin')`)
    const command: Command = { name, aliases: options.aliases ?? [], description: options.description, schema: options.args, flags, role: options.role, handler }
    this.#commands.push(command)
    for (const n of names) {
      this.#byName.set(n.toLowerCase(), command)
      const [parent, sub] = n.toLowerCase().split(' ')
      if (parent !== undefined && sub !== undefined) this.#parents.set(parent, [...this.#parents.get(parent) ?? [], command])
    }
  }

  has (name: string): boolean {
    return this.#byName.has(name.toLowerCase())
  }

  /** The commands a bot has unless it defines its own: `/help`, and `/cancel` when it has dialogues to cancel. */
  addBuiltIns (cancel: Middleware<CommandContext<Record<string, never>>> | undefined): void {
    if (!this.has('help')) this.add('help', { description: 'list the commands' }, async (ctx) => { await ctx.reply(this.help()) })
    if (cancel !== undefined && !this.has('cancel')) this.add('cancel', { description: 'end the questions under way' }, cancel)
  }

  /** The text of `/help`. */
  help (): string {
    const lines = this.#commands.map((c) => {
      const aliases = c.aliases.length > 0 ? ` (also ${c.aliases.map((a) => `/${a}`).join(', ')})` : ''
      return `${usage(c)}${c.description === undefined ? '' : ` - ${c.description}`}${aliases}`
    })
    return [HELP_HEADING, ...lines].join('\n')
  }

  /** Routes command messages to their command; everything else goes on to `next`. */
  middleware (): Middleware<Context> {
    return async (ctx, next) => {
      if (ctx.type !== 'message') return await next()
      const match = COMMAND_LINE.exec(ctx.text.trim())
      if (match === null) return await next()
      let [, name = '', rest = ''] = match
      const subcommands = this.#parents.get(name.toLowerCase())
      if (subcommands !== undefined) {
        const [, sub = '', subRest = ''] = /^(\S*)\s*([\s\S]*)$/.exec(rest) ?? []
        if (!this.#byName.has(`${name} ${sub}`.toLowerCase())) return await this.#unknownSubcommand(ctx, name, sub, subcommands)
        name = `${name} ${sub}`
        rest = subRest
      }
      const command = this.#byName.get(name.toLowerCase())
      if (command === undefined) return await this.#unknown(ctx, name, rest)
      // Checked before the arguments: whoever may not run it learns nothing of how it is used.
      if (command.role === 'admin' && !ctx.group.admins.includes(ctx.sender.account)) {
        await ctx.reply(`Sorry, /${command.name} is for the group's admins only.`)
        return
      }
      const parsed = parseCommandArgs(rest, command.schema, { flags: command.flags })
      if (!parsed.ok) {
        await ctx.reply(`${parsed.error}\nUsage: ${usage(command)}`)
        return
      }
      await compose([command.handler])(ctx.asCommand(command.name, parsed.args, rest), async () => {})
    }
  }

  async #unknownSubcommand (ctx: MessageContext, name: string, sub: string, subcommands: Command[]): Promise<void> {
    const close = sub === '' ? undefined : closest(sub.toLowerCase(), subcommands.map((c) => c.name.split(' ')[1] ?? ''))
    const intro = sub === ''
      ? `/${name} needs one of:`
      : `/${name} has no "${sub}".${close !== undefined && distance(close, sub.toLowerCase()) <= 2 ? ` Did you mean /${name} ${close}?` : ''} It takes:`
    await ctx.reply([intro, ...subcommands.map((c) => `${usage(c)}${c.description === undefined ? '' : ` - ${c.description}`}`)].join('\n'))
  }

  async #unknown (ctx: MessageContext, name: string, rest: string): Promise<void> {
    const wanted = name.toLowerCase()
    let best: { name: string, d: number } | undefined
    // Commands with subcommands count by their own name (`/annonce now` is close to `/announce`).
    for (const known of [...this.#byName.keys(), ...this.#parents.keys()]) {
      if (known.includes(' ')) continue
      const d = distance(wanted, known)
      if (best === undefined || d < best.d) best = { name: known, d }
    }
    const close = best !== undefined && best.d <= Math.max(2, Math.floor(wanted.length / 3))
    let suggestion = best?.name
    if (close && suggestion !== undefined && this.#parents.has(suggestion)) {
      const sub = /^\S*/.exec(rest)?.[0]?.toLowerCase() ?? ''
      if (this.#byName.has(`${suggestion} ${sub}`)) suggestion = `${suggestion} ${sub}`
    }
    await ctx.reply(`Unknown command /${name}.${close ? ` Did you mean /${suggestion}?` : ''} /help lists the commands.`)
  }
}

/** `/name <required> [optional]` from the schema. */
/** A command as a `/help` answer lists it. */
export interface ListedCommand {
  /** As typed, with its arguments: `/roll <sides>`. */
  usage: string
  description: string
}

const HELP_HEADING = 'Commands:'
const ALIASES = / \(also \/[^)]*\)$/

/**
 * Reads the commands out of a `/help` answer in the form `help()` writes
 * ("Commands:", then one `/usage - description` a line), so a client can
 * offer them as completions. Undefined for any other text.
 */
export function parseHelp (text: string): ListedCommand[] | undefined {
  const [heading, ...lines] = text.split('\n')
  if (heading?.trim() !== HELP_HEADING || lines.length === 0 || lines.length > 200) return undefined
  const commands: ListedCommand[] = []
  for (const raw of lines) {
    const line = raw.trim().replace(ALIASES, '')
    if (!COMMAND_LINE.test(line)) return undefined
    const split = line.indexOf(' - ')
    const [usage, description] = split === -1 ? [line, ''] : [line.slice(0, split), line.slice(split + 3)]
    commands.push({ usage: usage.slice(0, 500), description: description.slice(0, 1000) })
  }
  return commands
}

function usage (command: Command): string {
  const shape = command.schema?.shape ?? {}
  const parts = Object.entries(shape).map(([key, schema]) => {
    const optional = (schema as z.ZodType).safeParse(undefined).success
    const part = command.flags.includes(key) ? `--${key} <${key}>` : isBoolean(schema) ? `--${key}` : `<${key}>`
    return optional ? `[${part.replace(/^<(.*)>$/, '$1')}]` : part
  })
  return [`/${command.name}`, ...parts].join(' ')
}

type Parsed = { ok: true, args: Record<string, unknown> } | { ok: false, error: string }

/** Parses and validates the text after a command's name against its schema. */
export function parseCommandArgs (text: string, schema: ArgsSchema | undefined, settings: { flags?: readonly string[] } = {}): Parsed {
  const words = tokenize(text)
  if (words === undefined) return { ok: false, error: 'A quote is not closed.' }
  if (schema === undefined) {
    return words.length === 0 ? { ok: true, args: {} } : { ok: false, error: 'This command takes no arguments.' }
  }
  const shape = schema.shape
  const keys = Object.keys(shape)
  // Booleans are flags (`--loud`); the others take a value (`--sides 8`, `--sides=8`).
  const options = Object.fromEntries(keys.map((k) => [k, isBoolean(shape[k]) ? { type: 'boolean' as const } : { type: 'string' as const, multiple: isArray(shape[k]) }]))
  const { values, positionals } = parseArgs({ args: words, options, strict: false, allowPositionals: true })
  const input: Record<string, unknown> = {}
  for (const [flag, value] of Object.entries(values)) {
    if (!keys.includes(flag)) return { ok: false, error: `Unknown option --${flag}.${keys.length > 0 ? ` Options: ${keys.map((k) => `--${k}`).join(', ')}.` : ''}` }
    input[flag] = value
  }
  const free = keys.filter((k) => !(k in input) && !isBoolean(shape[k]) && settings.flags?.includes(k) !== true)
  for (const [i, word] of positionals.entries()) {
    const key = free[Math.min(i, free.length - 1)]
    if (key === undefined) return { ok: false, error: `Unexpected argument "${word}".` }
    if (i < free.length) {
      input[key] = isArray(shape[key]) ? [word] : word
    } else if (isArray(shape[key])) {
      (input[key] as unknown[]).push(word)
    } else if (isText(shape[key])) {
      input[key] = `${String(input[key])} ${word}`
    } else {
      return { ok: false, error: `Unexpected argument "${word}".` }
    }
  }
  const result = schema.safeParse(input)
  if (!result.success) {
    const issue = result.error.issues[0]
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : ''
    const problem = issue?.code === 'invalid_type' && input[String(issue.path[0])] === undefined ? 'missing' : issue?.message ?? 'invalid'
    return { ok: false, error: `Bad argument - ${where}${problem}.` }
  }
  return { ok: true, args: result.data }
}

function unwrap (schema: unknown): z.ZodType {
  let s = schema as z.ZodType & { unwrap?: () => z.ZodType, def?: { innerType?: z.ZodType } }
  // Optional, default, nullable wrappers: look at what they wrap.
  for (let i = 0; i < 8; i++) {
    const inner = s.def?.innerType
    if (inner === undefined) break
    s = inner as typeof s
  }
  return s
}

/**
 * Splits on whitespace; "double quotes" (straight or curly, as phones type
 * them) group words, and \" is a quote inside them. Apostrophes are text:
 * shell-style tokenizers read `don't` as an open quote, chat users do not.
 * `undefined` when a quote is left open. `keepQuotes` keeps the quotes (made
 * straight) and escapes in the words, for words that are read again, such
 * as Alertmanager matchers (`alertname="High latency"` is one word).
 */
export function tokenize (text: string, options: { keepQuotes?: boolean } = {}): string[] | undefined {
  const keep = options.keepQuotes === true
  const words: string[] = []
  let current: string | undefined
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    const next = text[i + 1]
    if (quoted && c === '\\' && next !== undefined && (keep || /["“”]/.test(next))) {
      // Kept, an escape stays for whoever reads the word next (a matcher's `\"`, a regex's `\d`).
      current = (current ?? '') + (keep ? `\\${/["“”]/.test(next) ? '"' : next}` : next)
      i++
    } else if (/["“”]/.test(c)) {
      quoted = !quoted
      current = (current ?? '') + (keep ? '"' : '')
    } else if (!quoted && /\s/.test(c)) {
      if (current !== undefined) words.push(current)
      current = undefined
    } else {
      current = (current ?? '') + c
    }
  }
  if (quoted) return undefined
  if (current !== undefined) words.push(current)
  return words
}

function isBoolean (schema: unknown): boolean {
  return unwrap(schema) instanceof z.ZodBoolean
}

function isArray (schema: unknown): boolean {
  return unwrap(schema) instanceof z.ZodArray
}

function isText (schema: unknown): boolean {
  return unwrap(schema) instanceof z.ZodString
}
