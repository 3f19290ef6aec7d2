/** Completion of a bot's commands in the composer: what the typed text offers. */
import type { ConversationSummary } from '../api.ts'

export type BotCommand = ConversationSummary['commands'][number]

/** `/roll <sides>` → `/roll`; a subcommand's usage (`/feed add <url>`) keeps its two words. */
export function commandName (usage: string, all: readonly BotCommand[]): string {
  const words = usage.trim().split(/\s+/)
  const first = words[0] ?? ''
  const second = words[1]
  const isSub = second !== undefined && /^[a-z0-9][a-z0-9_-]*$/i.test(second) && all.filter((c) => c.usage.trim().split(/\s+/)[0] === first).length > 1
  return isSub ? `${first} ${second}` : first
}

/**
 * The commands whose name starts with what is typed: `/he` offers `/help`;
 * `/feed ` offers the subcommands of /feed; once a whole name and a space
 * are typed (`/roll 6`), nothing.
 */
export function matchCommands (text: string, commands: readonly BotCommand[]): BotCommand[] {
  if (!text.startsWith('/') || commands.length === 0) return []
  const typed = text.toLowerCase()
  return commands.filter((c) => commandName(c.usage, commands).toLowerCase().startsWith(typed))
}
