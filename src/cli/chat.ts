/**
 * `bertybot chat`: a terminal client for people, on the same protocol
 * interface a bot uses. Lines starting with `/` are the client's commands
 * when it has one of that name; any other line, `/roll 6` included, is sent
 * to the open conversation (`//help` sends `/help`). Incoming events print
 * above the prompt; messages are numbered, so `/reply 3 yes` answers one.
 * Messages go through the client layer, as in `bertybot web`: the history
 * (`/history`) is the same, and so are the delivery states (a message no
 * peer has yet is marked pending, then marked again once it is delivered).
 */
import { createInterface, type Interface } from 'node:readline'
import QRCode from 'qrcode'
import { ShownMessages } from './chat-messages.ts'
import type { ChatClient, MessageView } from '../client/index.ts'
import {
  BertybotError, type ContactAcceptedEvent, type ContactRequestEvent, type Group,
  type GroupInvitationEvent, type MemberJoinedEvent, type Peer
} from '../protocol/index.ts'

/** How many messages `/history` shows without a number, and at most. */
const HISTORY_DEFAULT = 20
const HISTORY_MAX = 500

export interface ChatIo {
  input: NodeJS.ReadableStream
  output: NodeJS.WritableStream
  /** Whether the output is a terminal (cursor moves, QR codes). */
  terminal: boolean
  /** Print the contact link's QR code at start (on a terminal only; it takes more than 24 lines). */
  qr?: boolean
}

interface Command {
  usage: string
  help: string
  run: (args: string) => Promise<void>
}

/** Runs a chat session until the input ends or `/quit`; resolves when it does. */
export async function runChat (client: ChatClient, peer: Peer, io: ChatIo): Promise<void> {
  const session = new ChatSession(client, peer, io)
  await session.run()
}

class ChatSession {
  readonly #client: ChatClient
  readonly #peer: Peer
  readonly #io: ChatIo
  readonly #rl: Interface
  readonly #commands: Record<string, Command>
  #open: Group | undefined
  readonly #closed: Promise<void>
  #isClosed = false
  /** A line is being handled: it prompts again when done, so events printed meanwhile do not. */
  #busy = false
  readonly #shown = new ShownMessages()
  /** Our messages printed as pending, by conversation and seq: they are marked again once delivered. */
  readonly #pendingShown = new Set<string>()

  constructor (client: ChatClient, peer: Peer, io: ChatIo) {
    this.#client = client
    this.#peer = peer
    this.#io = io
    this.#rl = createInterface({ input: io.input, output: io.output, terminal: io.terminal, prompt: '> ' })
    this.#closed = new Promise((resolve) => {
      this.#rl.once('close', () => {
        this.#isClosed = true
        resolve()
      })
    })
    this.#commands = {
      help: { usage: '/help', help: 'this list', run: async () => { this.#help() } },
      link: { usage: '/link [--qr]', help: 'your contact link, to give to people (with its QR code)', run: async (args) => { await this.#showLink(args.split(/\s+/).includes('--qr')) } },
      add: { usage: '/add <link> [message]', help: 'ask the owner of a contact link to be your contact', run: async (args) => { await this.#add(args) } },
      requests: { usage: '/requests', help: 'contact requests waiting for your answer', run: async () => { this.#requests() } },
      accept: { usage: '/accept [name]', help: 'accept a contact request (the latest one if no name)', run: async (args) => { await this.#answer(args, true) } },
      decline: { usage: '/decline [name]', help: 'decline a contact request', run: async (args) => { await this.#answer(args, false) } },
      contacts: { usage: '/contacts', help: 'your contacts and requests', run: async () => { this.#contacts() } },
      groups: { usage: '/groups', help: 'your groups and conversations', run: async () => { this.#groups() } },
      new: { usage: '/new <name>', help: 'create a group and open it', run: async (args) => { await this.#newGroup(args) } },
      invite: { usage: '/invite [contact]', help: 'the open group\'s invitation; with a contact\'s name, send it to them', run: async (args) => { await this.#invite(args) } },
      join: { usage: '/join <invitation>', help: 'join a group from its invitation and open it', run: async (args) => { await this.#join(args) } },
      open: { usage: '/open <contact|group>', help: 'choose the conversation your lines go to', run: async (args) => { this.#openConversation(args) } },
      reply: { usage: '/reply <n> <text>', help: 'answer message number n (in its conversation)', run: async (args) => { await this.#reply(args) } },
      history: { usage: '/history [n]', help: `the open conversation's last n messages (${HISTORY_DEFAULT} if no n)`, run: async (args) => { await this.#history(args) } },
      replica: { usage: '/replica <link>', help: 'ask a replica to keep the open conversation while everyone is offline', run: async (args) => { await this.#replica(args) } },
      quit: { usage: '/quit', help: 'leave (Ctrl-C or Ctrl-D too)', run: async () => { this.#rl.close() } }
    }
  }

  async run (): Promise<void> {
    this.#subscribe()
    this.#print(`You are ${this.#peer.displayName ?? 'anonymous (set a name with --name)'} (account ${short(this.#peer.accountId)}).`)
    await this.#showLink(this.#io.qr === true)
    this.#print('Type /help for commands.')
    this.#rl.prompt()
    this.#rl.on('line', (line) => { void this.#handle(line) })
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
        const command = this.#commands[name.toLowerCase()]
        if (command !== undefined) return await command.run(rest.join(' '))
        // Not ours: a bot's command, for the open conversation.
        if (this.#open === undefined) return this.#print(`unknown command /${name}, and no conversation open to send it to. /help lists the commands.`)
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
    if (this.#open === undefined) return this.#print('no conversation open: /open one (see /groups), or /add a contact first.')
    await this.#client.send(this.#open.id, text)
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
    const peer = this.#peer
    this.#client.on('message', (m: MessageView) => {
      const group = this.#peer.group(m.conversation)
      if (group === undefined) return
      if (m.sender.own) return this.#ownMessageChanged(group, m)
      this.#print(this.#line(group, m, { where: true }))
      this.#client.markRead(m.conversation).catch((err: unknown) => { this.#print(`error: could not mark as read: ${(err as Error).message}`) })
    })
    peer.on('contactRequest', (r: ContactRequestEvent) => {
      const message = r.message === undefined || r.message === '' ? '' : `: "${r.message}"`
      this.#print(`${r.displayName === '' ? short(r.account) : r.displayName} wants to be your contact${message}. /accept or /decline`)
    })
    peer.on('contactAccepted', (e: ContactAcceptedEvent) => {
      this.#print(`${e.contact.displayName} is now your contact. /open ${e.contact.displayName} to talk.`)
      this.#open ??= e.group
    })
    peer.on('groupInvitation', (i: GroupInvitationEvent) => {
      this.#print(`${this.#nameOf(i.sender.account, i.sender.displayName)} invites you to "${i.groupName}": /join ${i.invitation}`)
    })
    peer.on('memberJoined', (e: MemberJoinedEvent) => {
      if (e.group.kind === 'multi-member') this.#print(`${this.#nameOf(e.member.account, e.member.displayName)} joined "${e.group.name}"`)
    })
  }

  /** One message, numbered if from someone else (so /reply can name it). */
  #line (group: Group, m: MessageView, options: { where: boolean }): string {
    const notes: string[] = []
    // A 1:1 conversation is named after the contact: say where only when it is another group.
    if (options.where && group.id !== this.#open?.id) notes.push(group.kind === 'contact' ? 'to you' : `in "${group.name}"`)
    if (m.replyTo !== undefined) notes.push(this.#shown.describe(m.replyTo.messageId, m.replyTo))
    const note = notes.length === 0 ? '' : ` (${notes.join(', ')})`
    const sentAt = new Date(m.sentAt)
    if (m.sender.own) {
      if (m.messageId !== undefined) this.#shown.sent(group, m.messageId, m.text)
      return `    [${time(sentAt)}] you${note}: ${m.text}${m.state === 'pending' || m.state === 'sending' ? '  (not delivered yet)' : ''}`
    }
    const number = m.messageId === undefined ? undefined : this.#shown.received(group, m.messageId, m.text)
    return `${number === undefined ? '' : `#${number} `}[${time(sentAt)}] ${m.sender.name}${note}: ${m.text}`
  }

  /** Our message moved on: remembered once sent (replies name it); marked when it waits for a peer, and again once delivered. */
  #ownMessageChanged (group: Group, m: MessageView): void {
    if (m.messageId !== undefined) this.#shown.sent(group, m.messageId, m.text)
    const key = `${m.conversation}/${m.seq}`
    const where = group.kind === 'contact' ? group.name : `"${group.name}"`
    if (m.state === 'pending' && !this.#pendingShown.has(key)) {
      this.#pendingShown.add(key)
      this.#print(`(pending: nobody in ${where} is reachable; "${quote(m.text)}" goes out when someone is)`)
    } else if ((m.state === 'sent' || m.state === 'seen') && this.#pendingShown.delete(key)) {
      this.#print(`(delivered in ${where}: "${quote(m.text)}")`)
    } else if (m.state === 'failed') {
      this.#print(`(could not send "${quote(m.text)}")`)
    }
  }

  async #history (args: string): Promise<void> {
    if (this.#open === undefined) return this.#print('no conversation open: /open one first (see /groups).')
    const wanted = args === '' ? HISTORY_DEFAULT : Number(args)
    if (!Number.isInteger(wanted) || wanted < 1) return this.#print(`usage: /history [n], n a number of messages (1 to ${HISTORY_MAX})`)
    const group = this.#open
    const { messages, more } = await this.#client.history(group.id, { limit: Math.min(wanted, HISTORY_MAX) })
    if (messages.length === 0) return this.#print(`no messages in ${this.#conversationName(group)} yet.`)
    this.#print([
      `${more ? 'last ' : ''}${messages.length} message(s) in ${this.#conversationName(group)}:`,
      ...messages.map((m) => this.#line(group, m, { where: false }))
    ].join('\n'))
    await this.#client.markRead(group.id)
  }

  /** A person's name: the one they gave, else the one they have as our contact, else the start of their account id. */
  #nameOf (account: string, given: string | undefined): string {
    if (given !== undefined && given !== '') return given
    const contact = this.#peer.contacts().find((c) => c.account === account)
    if (contact !== undefined && contact.displayName !== '') return contact.displayName
    return `someone unnamed (${short(account)})`
  }

  #help (): void {
    const width = Math.max(...Object.values(this.#commands).map((c) => c.usage.length))
    this.#print([
      'Commands:',
      ...Object.values(this.#commands).map((c) => `  ${c.usage.padEnd(width)}  ${c.help}`),
      'Any other line is sent to the open conversation, and so is a /command that is not one of these',
      '(a bot\'s: /roll 6, /subscribe). Start a line with // to send one of these names: //help sends /help.'
    ].join('\n'))
  }

  async #showLink (withQr: boolean): Promise<void> {
    const link = this.#peer.contactLink()
    if (withQr && this.#io.terminal) this.#print(await QRCode.toString(link, { type: 'terminal', small: true }))
    if (withQr && !this.#io.terminal) this.#print('(the QR code is shown on a terminal only)')
    this.#print(`Your contact link:\n${link}`)
  }

  async #reply (args: string): Promise<void> {
    const [number = '', ...words] = args.split(/\s+/)
    const text = words.join(' ')
    if (!/^#?\d+$/.test(number) || text === '') return this.#print('usage: /reply <n> <text>, n being the number shown before a message (#3)')
    const target = this.#shown.byNumber(Number(number.replace('#', '')))
    if (target === undefined) return this.#print(`no message #${number.replace('#', '')} (the numbers are those shown since this chat started; /history shows older ones).`)
    await this.#client.send(target.group.id, text, target.id)
  }

  async #add (args: string): Promise<void> {
    const [link = '', ...message] = args.split(/\s+/)
    if (link === '') return this.#print('usage: /add <link> [message]')
    const contact = await this.#peer.addContact(link, message.length > 0 ? { message: message.join(' ') } : {})
    this.#print(contact.state === 'accepted'
      ? `${contact.displayName} is already your contact.`
      : contact.requestDelivered
        ? `request sent to ${contact.displayName}; they have to accept it.`
        : `${contact.displayName} cannot be reached now; the request will be sent when they can.`)
  }

  #pending (name: string): { account: string, displayName: string } | undefined {
    const pending = this.#peer.contacts().filter((c) => c.state === 'incoming')
    if (name === '') return pending.at(-1)
    return pending.find((c) => matches(c.displayName, name) || c.account === name)
  }

  #requests (): void {
    const pending = this.#peer.contacts().filter((c) => c.state === 'incoming')
    this.#print(pending.length === 0 ? 'no contact requests.' : pending.map((c) => `  ${c.displayName} (${short(c.account)})`).join('\n'))
  }

  async #answer (name: string, accept: boolean): Promise<void> {
    const request = this.#pending(name)
    if (request === undefined) return this.#print(name === '' ? 'no contact request to answer.' : `no contact request from "${name}".`)
    if (accept) {
      this.#open = await this.#peer.acceptContact(request.account)
    } else {
      await this.#peer.declineContact(request.account)
      this.#print(`declined ${request.displayName}.`)
    }
  }

  #contacts (): void {
    const contacts = this.#peer.contacts()
    if (contacts.length === 0) return this.#print('no contacts yet: /link gives yours, /add <link> adds someone.')
    const label = { accepted: 'contact', outgoing: 'request sent', incoming: 'wants to be your contact', declined: 'declined', refused: 'link was reset' }
    this.#print(contacts.map((c) => `  ${c.displayName || short(c.account)}  ${label[c.state]}${c.state === 'outgoing' && !c.requestDelivered ? ' (not delivered yet)' : ''}`).join('\n'))
  }

  #conversationName (group: Group): string {
    return group.kind === 'contact' ? group.name : `"${group.name}"`
  }

  #groups (): void {
    const groups = this.#peer.groups()
    if (groups.length === 0) return this.#print('no groups yet: /new <name> creates one.')
    this.#print(groups.map((g, i) => `  ${i + 1}. ${this.#conversationName(g)}${g.kind === 'contact' ? ' (contact)' : ''}${g.id === this.#open?.id ? '  <- open' : ''}`).join('\n'))
  }

  async #newGroup (name: string): Promise<void> {
    if (name === '') return this.#print('usage: /new <name>')
    this.#open = await this.#peer.createGroup({ name })
    this.#print(`created "${name}". Invite people with /invite.`)
  }

  async #invite (name: string): Promise<void> {
    if (this.#open === undefined || this.#open.kind !== 'multi-member') return this.#print('open a group first (/open, or /new <name>).')
    const invitation = this.#open.invitation()
    if (name === '') return this.#print(`invitation to "${this.#open.name}":\n${invitation}`)
    const contact = this.#peer.contacts().find((c) => c.state === 'accepted' && matches(c.displayName, name))
    if (contact?.group === undefined) return this.#print(`no contact named "${name}".`)
    await this.#client.invite(this.#open.id, contact.account)
    this.#print(`invitation sent to ${contact.displayName}.`)
  }

  async #join (invitation: string): Promise<void> {
    if (invitation === '') return this.#print('usage: /join <invitation>')
    this.#open = await this.#peer.joinGroup(invitation)
    this.#print(`joined "${this.#open.name}".`)
  }

  #openConversation (name: string): void {
    if (name === '') return this.#print('usage: /open <contact|group|number>')
    const groups = this.#peer.groups()
    const byNumber = /^\d+$/.test(name) ? groups[Number(name) - 1] : undefined
    const found = byNumber ?? groups.find((g) => matches(g.name, name))
    if (found === undefined) return this.#print(`no conversation named "${name}" (see /groups).`)
    this.#open = found
    this.#print(`now talking in ${this.#conversationName(found)}.`)
  }

  async #replica (link: string): Promise<void> {
    if (this.#open === undefined) return this.#print('open a conversation first.')
    await this.#open.addReplica(link)
    this.#print(`the replica now keeps ${this.#conversationName(this.#open)}.`)
  }
}

function matches (candidate: string, wanted: string): boolean {
  return candidate.toLowerCase() === wanted.toLowerCase()
}

function short (id: string): string {
  return id.slice(0, 8)
}

function quote (text: string): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length <= 40 ? line : `${line.slice(0, 39)}…`
}

function time (date: Date): string {
  return date.toTimeString().slice(0, 5)
}
