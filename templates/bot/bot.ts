/**
 * {{name}}: a bertybot bot. `setup()` gives the bot its behaviour; the tests
 * (bot.test.ts) start the same bot on a test network. Run it with `npm start`.
 */
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { autoAcceptContacts, autoJoinGroups, createBot, welcome, type Bot } from 'bertybot'
import { z } from 'zod'

export function setup (bot: Bot): void {
  // Accept every contact request and group invitation, and greet newcomers.
  bot.use(
    autoAcceptContacts(),
    autoJoinGroups(),
    welcome('Hello! I roll dice: try /roll, or /roll 20. /help lists what I can do.')
  )

  // `/roll [sides]`: the arguments are parsed and checked with zod. A bad one
  // ("/roll banana") gets a reply that says what is wrong, with the usage.
  bot.command('roll', {
    args: z.object({ sides: z.coerce.number().int().min(2).max(1000).default(6) }),
    description: 'roll a die with [sides] sides (6 unless you say)'
  }, async (ctx) => {
    const result = 1 + Math.floor(Math.random() * ctx.args.sides)
    await ctx.reply(`You rolled ${result} (1-${ctx.args.sides}).`)
  })

  // Messages that are not commands. (`/help` is generated from the descriptions.)
  bot.onMessage(async (ctx) => {
    await ctx.reply('I only understand commands. Send /help to see them.')
  })
}

/** True when this file is the program that was run (`node bot.ts`), not imported by a test. */
function isMain (): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (isMain()) {
  // Configuration comes from the environment and .env (see .env.example).
  const bot = await createBot({ defaults: { dataDir: 'data', displayName: '{{botName}}' } })
  setup(bot)
  await bot.start()   // prints the contact link; Ctrl-C stops the bot cleanly
}
