/**
 * How an alert message is written: as plain text, or in the Markdown subset
 * messages may be flagged with (bold headline, labels as code, links). One
 * rendering of a notification, two styles: both say the same, line for line.
 */
import { escapeMarkdown } from '../../framework/index.ts'

export interface TextStyle {
  /** Text from the payload, shown as it is. */
  text: (s: string) => string
  bold: (s: string) => string
  /** A label matcher, a value: shown as code. */
  code: (s: string) => string
  link: (label: string, url: string) => string
}

export const plainStyle: TextStyle = {
  text: (s) => s,
  bold: (s) => s,
  code: (s) => s,
  link: (label, url) => `${label}: ${url}`
}

export const markdownStyle: TextStyle = {
  text: escapeMarkdown,
  bold: (s) => `**${escapeMarkdown(s)}**`,
  // A code span cannot hold its own delimiter: text with a backtick is shown escaped instead.
  code: (s) => s.includes('`') ? escapeMarkdown(s) : `\`${s}\``,
  // What would end the link's address early is percent-encoded.
  link: (label, url) => `[${escapeMarkdown(label)}](${url.replace(/[()\s<>]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)})`
}
