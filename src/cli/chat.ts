/**
 * `bertybot chat`: a terminal client for people, on the same protocol
 * interface a bot uses. Lines starting with `/` are the client's commands
 * when it has one of that name; any other line, `/roll 6` included, is sent
 * to the open conversation (`//help` sends `/help`). Incoming events print
 * above the prompt; messages are numbered, so `/reply 3 yes`, `/react 3 👍`
 * or `/press 2` name one. Messages go through the client layer, as in
 * `bertybot web`: the history (`/history`) is the same, and so are the
 * delivery states (a message no peer has yet is marked pending, then marked
 * again once it is delivered).
 *
 * The commands live beside this file: people and conversations
 * (`chat-contacts.ts`), messages (`chat-actions.ts`), blocking
 * (`chat-blocks.ts`); what is printed of
 * messages is `chat-printer.ts` over `chat-lines.ts`.
 */
import { createInterface, type Interface } from 'node:readline'
import type { ChatClient } from '../client/index.ts'
import {
  BertybotError, type ContactAcceptedEvent, type ContactRequestEvent,
  type GroupInvitationEvent, type MemberJoinedEvent, type Peer
} from '../protocol/index.ts'
import { messageCommands } from './chat-actions.ts'
import { blockCommands } from './chat-blocks.ts'
import { contactCommands, replicaCommand } from './chat-contacts.ts'
import { safeLine, safeText, short } from './chat-lines.ts'
import { ShownMessages } from './chat-messages.ts'
import { MessagePrinter } from './chat-printer.ts'
import type { ChatState, Command } from './chat-session.ts'

export interface ChatIo {
  input: NodeJS.ReadableStream
  output: NodeJS.WritableStream
  /** Whether the output is a terminal (cursor moves, ANSI styles, QR codes). */
  terminal: boolean
  /** Print the contact link's QR code at start (on a terminal only; it takes more than 24 lines). */
  qr?: boolean
}

/** Runs a chat session until the input ends or `/quit`; resolves when it does. */
export async function runChat (client: ChatClient, peer: Peer, io: ChatIo): Promise<void> {
  const session = new ChatSession(client, peer, io)
  await session.run()
}

class ChatSession {
  readonly #io: ChatIo
  readonly #rl: Interface
  readonly #state: ChatState
  readonly #commands: Record<string, Command>
  readonly #printer: MessagePrinter
  readonly #closed: Promise<void>
  #isClosed = false
  /** A line is being handled: it prompts again when done, so events printed meanwhile do not. */
  #busy = false
  /** The lines typed, handled in turn (`#handle` never throws). */
  #lines = Promise.resolve()

  constructor (client: ChatClient, peer: Peer, io: ChatIo) {
    this.#io = io
    this.#rl = createInterface({ input: io.input, output: io.output, terminal: io.terminal, prompt: '> ' })
    this.#closed = new Promise((resolve) => {
      this.#rl.once('close', () => {
        this.#isClosed = true
        resolve()
      })
    })
    this.#state = { client, peer, shown: new ShownMessages(), terminal: io.terminal, print: (text) => { this.#print(text) }, open: undefined }
    this.#printer = new MessagePrinter(this.#state)
    this.#commands = {
      help: { usage: '/help', help: 'this list', run: async () => { this.#help() } },
      ...contactCommands(this.#state),
      ...messageCommands(this.#state),
      history: { usage: '/history [n]', help: 'the open conversation\'s last n messages (20 if no n)', run: async (args) => { await this.#printer.history(args) } },
      replica: replicaCommand(this.#state),
      ...blockCommands(this.#state),
      quit: { usage: '/quit', help: 'leave (Ctrl-C or Ctrl-D too)', run: async () => { this.#rl.close() } }
    }
  }

  async run (): Promise<void> {
    const { peer } = this.#state
    this.#subscribe()
    this.#print(`You are ${peer.displayName ?? 'anonymous (set a name with --name)'} (account ${short(peer.accountId)}).`)
    await this.#commands.link?.run(this.#io.qr === true ? '--qr' : '')
    this.#print('Type /help for commands.')
    this.#rl.prompt()
    // One line after the other, as typed: a line sent, then /history, shows it.
    this.#rl.on('line', (line) => { this.#lines = this.#lines.then(async () => { await this.#handle(line) }) })
    // Ctrl-C leaves, as Ctrl-D does.
    this.#rl.on('SIGINT', () => { this.#rl.close() })
    await this.#closed
  }

  async #handle (raw: string): Promise<void> {
    const line = raw.trim()
    this.#busy = true
    try {
      if (line === '') return
      // `//x` is `/x` said to the conversation (a bot's /help, where ours would answer).
      if (line.startsWith('//')) return await this.#say(line.slice(1))
      if (line.startsWith('/')) {
        const [name = '', ...rest] = line.slice(1).split(/\s+/)
        const command = Object.hasOwn(this.#commands, name.toLowerCase()) ? this.#commands[name.toLowerCase()] : undefined
        if (command !== undefined) return await command.run(rest.join(' '))
        // Not ours: a bot's command, for the open conversation.
        if (this.#state.open === undefined) return this.#print(`unknown command /${name}, and no conversation open to send it to. /help lists the commands.`)
      }
      await this.#say(line)
    } catch (err) {
      this.#print(`error: ${err instanceof BertybotError ? err.message : (err as Error).message}`)
    } finally {
      this.#busy = false
      if (!this.#isClosed) this.#rl.prompt(true)
    }
  }

  /** Sends a line to the open conversation. */
  async #say (text: string): Promise<void> {
    if (this.#state.open === undefined) return this.#print('no conversation open: /open one (see /groups), or /add a contact first.')
    await this.#state.client.send(this.#state.open.id, text)
  }

  /** Prints above the prompt, keeping what the user was typing. */
  #print (text: string): void {
    if (this.#isClosed) return
    const out = this.#io.output
    if (this.#io.terminal && !this.#busy) out.write('\r\x1b[K')
    out.write(text + '\n')
    if (this.#io.terminal && !this.#busy) this.#rl.prompt(true)
  }

  #subscribe (): void {
    const { client, peer } = this.#state
    client.on('message', (m) => { this.#printer.told(m) })
    peer.on('contactRequest', (r: ContactRequestEvent) => {
      if (client.blocks.has(r.account)) return
      const message = r.message === undefined || r.message === '' ? '' : `: "${safeText(r.message)}"`
      this.#print(`${r.displayName === '' ? short(r.account) : safeLine(r.displayName)} wants to be your contact${message}. /accept or /decline`)
    })
    peer.on('contactAccepted', (e: ContactAcceptedEvent) => {
      this.#print(`${safeLine(e.contact.displayName)} is now your contact. /open ${safeLine(e.contact.displayName)} to talk.`)
      this.#state.open ??= e.group
    })
    peer.on('groupInvitation', (i: GroupInvitationEvent) => {
      if (client.blocks.has(i.sender.account)) return
      this.#print(`${this.#nameOf(i.sender.account, i.sender.displayName)} invites you to "${safeLine(i.groupName)}": /join ${safeLine(i.invitation)}`)
    })
    peer.on('memberJoined', (e: MemberJoinedEvent) => {
      if (e.group.kind === 'multi-member') this.#print(`${this.#nameOf(e.member.account, e.member.displayName)} joined "${safeLine(e.group.name)}"`)
    })
  }

  /** A person's name: the one they gave, else the one they have as our contact, else the start of their account id. */
  #nameOf (account: string, given: string | undefined): string {
    if (given !== undefined && given !== '') return safeLine(given)
    const contact = this.#state.peer.contacts().find((c) => c.account === account)
    if (contact !== undefined && contact.displayName !== '') return safeLine(contact.displayName)
    return `someone unnamed (${short(account)})`
  }

  #help (): void {
    const width = Math.max(...Object.values(this.#commands).map((c) => c.usage.length))
    this.#print([
      'Commands:',
      ...Object.values(this.#commands).map((c) => `  ${c.usage.padEnd(width)}  ${c.help}`),
      'Messages are numbered (#3) as they are shown (yours once /history shows them); the commands above',
      'name them so. Under a message: its files (/save), its buttons, numbered (/press), and its reactions',
      '(👍 2 · ❤️ 1*, the * on those you put).',
      'Any other line is sent to the open conversation, and so is a /command that is not one of these',
      '(a bot\'s: /roll 6, /subscribe). Start a line with // to send one of these names: //help sends /help.'
    ].join('\n'))
  }
}
