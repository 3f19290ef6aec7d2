/**
 * Message text to parts: plain text, and the http(s) URLs in it as links.
 * The page renders the parts as text nodes and <a> elements, so no message
 * can put markup or another kind of URL (javascript:, data:) into the DOM.
 */
export type TextPart = { kind: 'text', text: string } | { kind: 'link', text: string, href: string }

const CANDIDATE = /\bhttps?:\/\/[^\s<>"'`]+/gi
/** Punctuation that ends a sentence more often than a URL. */
const TRAILING = /[.,;:!?'"]+$/

/** Drops trailing punctuation, and closing brackets the URL did not open: "(see https://x.org/a)." links https://x.org/a. */
function trim (candidate: string): string {
  let url = candidate.replace(TRAILING, '')
  for (const [open, close] of [['(', ')'], ['[', ']'], ['{', '}']] as const) {
    while (url.endsWith(close) && url.split(open).length < url.split(close).length) url = url.slice(0, -1).replace(TRAILING, '')
  }
  return url
}

/** The URL as an http(s) href, or undefined if it is not one. */
function safeHref (text: string): string | undefined {
  try {
    const url = new URL(text)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined
  } catch {
    return undefined
  }
}

export function linkify (text: string): TextPart[] {
  const parts: TextPart[] = []
  let at = 0
  for (const match of text.matchAll(CANDIDATE)) {
    const url = trim(match[0])
    const href = safeHref(url)
    if (href === undefined) continue
    if (match.index > at) parts.push({ kind: 'text', text: text.slice(at, match.index) })
    parts.push({ kind: 'link', text: url, href })
    at = match.index + url.length
  }
  if (at < text.length) parts.push({ kind: 'text', text: text.slice(at) })
  return parts
}
