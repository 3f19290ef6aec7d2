/**
 * How `bertybot chat` prints a message: its line (`#3 [09:12] bob: text`,
 * `(edited)`, `(deleted)`), its text (plain, or the Markdown subset as ANSI
 * bold, italic and code on a terminal), and the lines under it: its files,
 * its buttons numbered for `/press`, its reactions (`👍 2 · ❤️ 1`).
 *
 * A message's text never reaches the terminal as it came: control
 * characters (an escape sequence could move the cursor, clear the screen or
 * retitle the window) are shown as `�`.
 */
import type { MessageView } from '../client/index.ts'
import { parseMarkdown, type MarkdownInline } from '../web/index.ts'

const ANSI = {
  bold: ['\x1b[1m', '\x1b[22m'],
  italic: ['\x1b[3m', '\x1b[23m'],
  code: ['\x1b[36m', '\x1b[39m'],
  link: ['\x1b[4m', '\x1b[24m'],
  dim: ['\x1b[2m', '\x1b[22m']
} as const
type Style = keyof typeof ANSI

/** Indentation of the lines under a message. */
const UNDER = '    '

/** Control characters but line breaks and tabs, as `�`. */
export function safeText (text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\uFFFD')
}

/** A name or any other one-line text a peer gives: every control character as `�`, line breaks too. */
export function safeLine (text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\uFFFD')
}

/** Styles a part when the output is a terminal; leaves it plain otherwise. */
function styler (terminal: boolean): (style: Style, text: string) => string {
  return (style, text) => terminal ? `${ANSI[style][0]}${text}${ANSI[style][1]}` : text
}

/** A message's text as the terminal shows it: Markdown rendered, everything made safe. */
export function shownText (m: Pick<MessageView, 'text' | 'format'>, terminal: boolean): string {
  if (m.format !== 'markdown') return safeText(m.text)
  const style = styler(terminal)
  const inline = (parts: MarkdownInline[]): string => parts.map((part) => {
    switch (part.kind) {
      case 'text': return safeText(part.text)
      case 'break': return '\n'
      case 'code': return style('code', safeText(part.text))
      case 'strong': return style('bold', inline(part.children))
      case 'em': return style('italic', inline(part.children))
      case 'link': {
        const text = inline(part.children)
        // A link whose text is its address is shown once.
        return text === part.href || `mailto:${text}` === part.href ? style('link', text) : `${style('link', text)} (${safeText(part.href)})`
      }
    }
  }).join('')
  return parseMarkdown(m.text).map((block) => block.kind === 'code'
    ? safeText(block.text).split('\n').map((line) => `  ${style('code', line)}`).join('\n')
    : inline(block.children)).join('\n')
}

/** The lines under a message: its files, its buttons (numbered), its reactions. */
export function linesUnder (m: MessageView, number: number, terminal: boolean): string[] {
  if (m.deleted) return []
  const style = styler(terminal)
  const lines: string[] = []
  for (const file of m.files) lines.push(`${UNDER}📎 ${safeText(file.name)} (${sizeText(file.size)}, ${safeText(file.type)})  /save ${number}`)
  let n = 0
  for (const row of m.buttons) {
    lines.push(UNDER + row.map((button) => {
      n += 1
      const label = `[${n}] ${safeText(button.label)}`
      return m.pressed.includes(button.payload) ? `${style('bold', label)} ✓` : label
    }).join('   '))
  }
  if (m.buttons.length > 0) lines.push(`${UNDER}${style('dim', `/press ${number} <n> presses one`)}`)
  const reactions = reactionLine(m)
  if (reactions !== '') lines.push(UNDER + reactions)
  return lines
}

/** `👍 2 · ❤️ 1`, ours marked; empty when none. */
export function reactionLine (m: Pick<MessageView, 'reactions'>): string {
  return m.reactions.map((r) => `${safeText(r.emoji)} ${r.count}${r.own ? '*' : ''}`).join(' · ')
}

export function sizeText (bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} kB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}

export function time (date: Date): string {
  return date.toTimeString().slice(0, 5)
}

export function short (id: string): string {
  return id.slice(0, 8)
}
