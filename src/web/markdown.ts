/**
 * The Markdown subset messages may be written in (bold, italic, code, code
 * blocks, links), read by markdown-it into a small tree that both clients
 * render: the web page into elements (never HTML text), the terminal into
 * ANSI. markdown-it starts from its `zero` preset with HTML off, and only the
 * rules of the subset are turned on: a heading, a list, a table, an image or
 * an HTML tag in a message stays the text it is. Links are kept only when
 * they are http(s) or mailto; bare addresses become links as in plain text
 * (linkify-it, no fuzzy links: "node.js" stays text).
 *
 * Nothing here knows the DOM or Node: the page bundles it, and the terminal
 * imports it through `src/web/index.ts`.
 */
import MarkdownIt from 'markdown-it'

export type MarkdownInline =
  | { kind: 'text', text: string }
  | { kind: 'strong' | 'em', children: MarkdownInline[] }
  | { kind: 'code', text: string }
  | { kind: 'link', href: string, children: MarkdownInline[] }
  | { kind: 'break' }

export type MarkdownBlock =
  | { kind: 'paragraph', children: MarkdownInline[] }
  | { kind: 'code', text: string, language: string }

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:'])

const md = new MarkdownIt('zero', { html: false, linkify: true, breaks: true })
  .enable(['emphasis', 'backticks', 'fence', 'link', 'linkify', 'newline', 'escape'])
md.linkify.set({ fuzzyLink: false })
md.linkify.add('ftp:', null).add('//', null)

/** A link's URL as an href, or undefined if its protocol is not one a message may open. */
export function safeHref (url: string): string | undefined {
  try {
    const parsed = new URL(url)
    return SAFE_PROTOCOLS.has(parsed.protocol) ? parsed.href : undefined
  } catch {
    return undefined
  }
}

/** The text as the subset reads it: paragraphs of inline parts, and code blocks. */
export function parseMarkdown (text: string): MarkdownBlock[] {
  const blocks: MarkdownBlock[] = []
  for (const token of md.parse(text, {})) {
    if (token.type === 'inline') blocks.push({ kind: 'paragraph', children: inline(token.children ?? []) })
    else if (token.type === 'fence') blocks.push({ kind: 'code', text: token.content.replace(/\n$/, ''), language: token.info.trim().slice(0, 40) })
  }
  return blocks
}

type Token = ReturnType<typeof md.parseInline>[number]

/** markdown-it's flat open/close tokens as a tree; a link of another protocol keeps its text, unlinked. */
function inline (tokens: Token[]): MarkdownInline[] {
  const root: MarkdownInline[] = []
  const stack: MarkdownInline[][] = [root]
  const top = (): MarkdownInline[] => stack[stack.length - 1] as MarkdownInline[]
  for (const token of tokens) {
    switch (token.type) {
      case 'text': if (token.content !== '') top().push({ kind: 'text', text: token.content }); break
      case 'code_inline': top().push({ kind: 'code', text: token.content }); break
      case 'softbreak': case 'hardbreak': top().push({ kind: 'break' }); break
      case 'strong_open': case 'em_open': case 'link_open': {
        const children: MarkdownInline[] = []
        const href = token.type === 'link_open' ? safeHref(String(token.attrGet('href') ?? '')) : undefined
        if (token.type === 'link_open' && href === undefined) {
          // Not a link we open: its text stays, in the place it was.
          stack.push(top())
          break
        }
        top().push(token.type === 'link_open' ? { kind: 'link', href: href as string, children } : { kind: token.type === 'strong_open' ? 'strong' : 'em', children })
        stack.push(children)
        break
      }
      case 'strong_close': case 'em_close': case 'link_close':
        if (stack.length > 1) stack.pop()
        break
    }
  }
  return root
}
