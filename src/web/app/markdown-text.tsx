/**
 * A message in the Markdown subset, drawn from the tree `../markdown.ts`
 * reads: elements made one by one (strong, em, code, pre, a), every text a
 * text node. No part of a message is ever parsed as HTML, so none can add
 * markup; links are http(s) and mailto only, and open elsewhere.
 */
import type { ComponentChildren } from 'preact'
import { parseMarkdown, type MarkdownInline } from '../markdown.ts'

function Inline ({ parts }: { parts: MarkdownInline[] }): ComponentChildren {
  return parts.map((part, i) => {
    switch (part.kind) {
      case 'text': return part.text
      case 'break': return <br key={i} />
      case 'code': return <code key={i} class="md-code">{part.text}</code>
      case 'strong': return <strong key={i}><Inline parts={part.children} /></strong>
      case 'em': return <em key={i}><Inline parts={part.children} /></em>
      case 'link': return <a key={i} href={part.href} target="_blank" rel="noopener noreferrer">{part.children.length === 0 ? part.href : <Inline parts={part.children} />}</a>
    }
  })
}

export function MarkdownText ({ text }: { text: string }) {
  return (
    <>
      {parseMarkdown(text).map((block, i) => block.kind === 'code'
        ? <pre key={i} class="md-pre"><code>{block.text}</code></pre>
        : <p key={i} class="md-p"><Inline parts={block.children} /></p>)}
    </>
  )
}
