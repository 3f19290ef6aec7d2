/**
 * A message's text as text nodes and http(s) links, or, flagged Markdown, as
 * the subset's elements (`markdown-text.tsx`): never parsed as HTML.
 * Very long texts show their start with a toggle, so that one message does
 * not make a conversation miles long.
 */
import { useState } from 'preact/hooks'
import { linkify } from './linkify.ts'
import { MarkdownText } from './markdown-text.tsx'

/** Beyond this many characters a message is shown collapsed. */
export const COLLAPSE_AT = 2000
const COLLAPSED_LENGTH = 1200

function Linked ({ text }: { text: string }) {
  return (
    <>
      {linkify(text).map((part, i) => part.kind === 'link'
        ? <a key={i} href={part.href} target="_blank" rel="noopener noreferrer">{part.text}</a>
        : part.text)}
    </>
  )
}

export function MessageText ({ text, markdown = false }: { text: string, markdown?: boolean }) {
  const [expanded, setExpanded] = useState(false)
  const long = text.length > COLLAPSE_AT
  const shown = long && !expanded ? `${text.slice(0, COLLAPSED_LENGTH)}…` : text
  return (
    <>
      {/* dir=auto: a right-to-left text (or an override character) lays out inside this element only. */}
      {markdown
        ? <div class="msg-text msg-text--markdown" dir="auto"><MarkdownText text={shown} /></div>
        : <div class="msg-text" dir="auto"><Linked text={shown} /></div>}
      {long && (
        <button type="button" class="link-button msg-more" aria-expanded={expanded} onClick={() => { setExpanded(!expanded) }}>
          {expanded ? 'Show less' : `Show more (${(text.length - COLLAPSED_LENGTH).toLocaleString()} more characters)`}
        </button>
      )}
    </>
  )
}
