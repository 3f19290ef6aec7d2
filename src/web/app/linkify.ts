/**
 * Message text to parts: plain text, and the links in it, found by
 * linkify-it (markdown-it's linkifier: trailing punctuation, brackets and
 * Unicode hosts as people write them). The page renders the parts as text
 * nodes and <a> elements, so no message can put markup into the DOM, and only
 * http(s) and mailto links are made: never javascript:, data: or the like.
 */
import { LinkifyIt } from 'linkify-it'
import { safeHref } from '../markdown.ts'

export type TextPart = { kind: 'text', text: string } | { kind: 'link', text: string, href: string }

// No fuzzy links: "node.js" or "v1.2" in a message stay text. Fuzzy e-mail addresses stay on.
const linkifier = new LinkifyIt({ fuzzyLink: false })
  .add('ftp:', null)
  .add('//', null)

export function linkify (text: string): TextPart[] {
  const parts: TextPart[] = []
  let at = 0
  for (const match of linkifier.match(text) ?? []) {
    const href = safeHref(match.url)
    if (href === undefined) continue
    if (match.index > at) parts.push({ kind: 'text', text: text.slice(at, match.index) })
    parts.push({ kind: 'link', text: match.raw, href })
    at = match.lastIndex
  }
  if (at < text.length) parts.push({ kind: 'text', text: text.slice(at) })
  return parts
}
