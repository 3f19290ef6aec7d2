/** The page's links in message text (src/web/app/linkify.ts): only http(s) and mailto links are made. */
import { describe, expect, it } from 'vitest'
import { linkify } from '../../src/web/app/linkify.ts'

describe('links in message text', () => {
  it('links http(s) URLs without their trailing punctuation or the bracket around them', () => {
    expect(linkify('(see https://example.org/a?b=1).')).toEqual([
      { kind: 'text', text: '(see ' },
      { kind: 'link', text: 'https://example.org/a?b=1', href: 'https://example.org/a?b=1' },
      { kind: 'text', text: ').' }
    ])
  })

  it('never makes a javascript:, data:, ftp: or protocol-relative link, and leaves names with dots as text', () => {
    const text = 'javascript:alert(1) data:text/html,<script>alert(1)</script> ftp://example.org //example.org/a node.js v1.2'
    expect(linkify(text)).toEqual([{ kind: 'text', text }])
  })

  it('links an e-mail address to mailto:, and keeps every character of the text', () => {
    const text = 'write to bob@example.org or https://example.org/ünïcode'
    const parts = linkify(text)
    expect(parts.filter((p) => p.kind === 'link').map((p) => p.href)).toEqual(['mailto:bob@example.org', 'https://example.org/%C3%BCn%C3%AFcode'])
    expect(parts.map((p) => p.text).join('')).toBe(text)
  })
})
