/**
 * What the parts of a chat session share: the client and its peer, the
 * messages shown, where lines go, and the open conversation; and the shape
 * of a command (`/name args`).
 */
import type { ChatClient } from '../client/index.ts'
import type { Group, Peer } from '../protocol/index.ts'
import { safeLine } from './chat-lines.ts'
import type { ShownMessages } from './chat-messages.ts'

export interface ChatState {
  readonly client: ChatClient
  readonly peer: Peer
  readonly shown: ShownMessages
  /** Whether the output is a terminal (ANSI styles, cursor moves, QR codes). */
  readonly terminal: boolean
  /** Prints above the prompt, keeping what the person was typing. */
  print: (text: string) => void
  /** The conversation lines go to. */
  open: Group | undefined
}

export interface Command {
  usage: string
  help: string
  run: (args: string) => Promise<void>
}

export function conversationName (group: Group): string {
  return group.kind === 'contact' ? safeLine(group.name) : `"${safeLine(group.name)}"`
}

export function matches (candidate: string, wanted: string): boolean {
  return candidate.toLowerCase() === wanted.toLowerCase()
}
