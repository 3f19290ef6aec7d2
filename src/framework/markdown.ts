/**
 * Writing the Markdown subset messages may be flagged with (`format:
 * 'markdown'`: bold, italic, code, code blocks, links): text from elsewhere
 * (an alert's labels, a user's name) goes in escaped, so that it reads as
 * it is rather than as formatting.
 */

/**
 * `text` with every character the subset gives a meaning to (`\`, `` ` ``,
 * `*`, `_`, `[`, `]`) escaped with a backslash, as in CommonMark, so that
 * it shows as written.
 *
 * ```ts
 * await ctx.reply(`**${escapeMarkdown(alert.name)}** is firing`, { format: 'markdown' })
 * ```
 */
export function escapeMarkdown (text: string): string {
  return text.replace(/[\\`*_[\]]/g, '\\$&')
}
