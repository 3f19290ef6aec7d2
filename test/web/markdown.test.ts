/** The Markdown subset both clients render: what markdown-it reads of a message, and what it leaves as text. */
import { describe, expect, it } from 'vitest'
import { parseMarkdown } from '../../src/web/markdown.ts'

describe('the Markdown subset', () => {
  it('reads bold, italic, inline code, code blocks, links and line breaks', () => {
    expect(parseMarkdown('**Lunch** at _noon_, `code` and [docs](https://example.org/docs)\nnext line\n\n```js\nlet x = 1\n```')).toEqual([
      {
        kind: 'paragraph',
        children: [
          { kind: 'strong', children: [{ kind: 'text', text: 'Lunch' }] },
          { kind: 'text', text: ' at ' },
          { kind: 'em', children: [{ kind: 'text', text: 'noon' }] },
          { kind: 'text', text: ', ' },
          { kind: 'code', text: 'code' },
          { kind: 'text', text: ' and ' },
          { kind: 'link', href: 'https://example.org/docs', children: [{ kind: 'text', text: 'docs' }] },
          { kind: 'break' },
          { kind: 'text', text: 'next line' }
        ]
      },
      { kind: 'code', text: 'let x = 1', language: 'js' }
    ])
  })

  it('leaves HTML, headings, lists, images and links of other protocols as the text they are', () => {
    const text = (markdown: string): string => JSON.stringify(parseMarkdown(markdown))
    expect(parseMarkdown('<b>hi</b> <script>alert(1)</script>')).toEqual([{ kind: 'paragraph', children: [{ kind: 'text', text: '<b>hi</b> <script>alert(1)</script>' }] }])
    expect(parseMarkdown('# title')).toEqual([{ kind: 'paragraph', children: [{ kind: 'text', text: '# title' }] }])
    expect(parseMarkdown('- one')).toEqual([{ kind: 'paragraph', children: [{ kind: 'text', text: '- one' }] }])
    expect(text('[x](javascript:alert(1)) [y](data:text/html,hi) [z](ftp://example.org) [w](vbscript:x)')).not.toContain('"link"')
    expect(parseMarkdown('[**bold** click](file:///etc/passwd)')).toEqual([{ kind: 'paragraph', children: [{ kind: 'text', text: '[' }, { kind: 'strong', children: [{ kind: 'text', text: 'bold' }] }, { kind: 'text', text: ' click](file:///etc/passwd)' }] }])
    // Escapes, as escapeMarkdown writes them, are read back as the characters.
    expect(parseMarkdown('\\*not italic\\*')).toEqual([{ kind: 'paragraph', children: [{ kind: 'text', text: '*not italic*' }] }])
  })

  it('makes links of bare http(s) addresses and e-mail addresses, not of names that look like hosts', () => {
    const [block] = parseMarkdown('see https://example.org/a?b=1, write to me@example.org; node.js is not a link')
    expect(block).toEqual({
      kind: 'paragraph',
      children: [
        { kind: 'text', text: 'see ' },
        { kind: 'link', href: 'https://example.org/a?b=1', children: [{ kind: 'text', text: 'https://example.org/a?b=1' }] },
        { kind: 'text', text: ', write to ' },
        { kind: 'link', href: 'mailto:me@example.org', children: [{ kind: 'text', text: 'me@example.org' }] },
        { kind: 'text', text: '; node.js is not a link' }
      ]
    })
  })
})
