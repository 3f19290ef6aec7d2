/**
 * The chat's commands for people and conversations: your link, contact
 * requests (sent, answered), contacts, groups (new, invite, join), the open
 * conversation, replicas.
 */
import QRCode from 'qrcode'
import { conversationName, matches, type ChatState, type Command } from './chat-session.ts'
import { safeLine, short } from './chat-lines.ts'

export function contactCommands (state: ChatState): Record<string, Command> {
  const { client, peer, print } = state

  const showLink = async (withQr: boolean): Promise<void> => {
    const link = peer.contactLink()
    if (withQr && state.terminal) print(await QRCode.toString(link, { type: 'terminal', small: true }))
    if (withQr && !state.terminal) print('(the QR code is shown on a terminal only)')
    print(`Your contact link:\n${link}`)
  }

  const add = async (args: string): Promise<void> => {
    const [link = '', ...message] = args.split(/\s+/)
    if (link === '') return print('usage: /add <link> [message]')
    const contact = await peer.addContact(link, message.length > 0 ? { message: message.join(' ') } : {})
    print(contact.state === 'accepted'
      ? `${safeLine(contact.displayName)} is already your contact.`
      : contact.requestDelivered
        ? `request sent to ${safeLine(contact.displayName)}; they have to accept it.`
        : `${safeLine(contact.displayName)} cannot be reached now; the request will be sent when they can.`)
  }

  const pending = (name: string): { account: string, displayName: string } | undefined => {
    // Those of blocked accounts wait unseen (`client.requests`).
    const incoming = peer.contacts().filter((c) => c.state === 'incoming' && !client.blocks.has(c.account))
    if (name === '') return incoming.at(-1)
    return incoming.find((c) => matches(c.displayName, name) || c.account === name)
  }

  const answer = async (name: string, accept: boolean): Promise<void> => {
    const request = pending(name)
    if (request === undefined) return print(name === '' ? 'no contact request to answer.' : `no contact request from "${name}".`)
    if (accept) {
      state.open = await peer.acceptContact(request.account)
    } else {
      await peer.declineContact(request.account)
      print(`declined ${safeLine(request.displayName)}.`)
    }
  }

  const contacts = (): void => {
    const all = peer.contacts()
    if (all.length === 0) return print('no contacts yet: /link gives yours, /add <link> adds someone.')
    const label = { accepted: 'contact', outgoing: 'request sent', incoming: 'wants to be your contact', declined: 'declined', refused: 'link was reset' }
    print(all.map((c) => `  ${safeLine(c.displayName) || short(c.account)}  ${label[c.state]}${c.state === 'outgoing' && !c.requestDelivered ? ' (not delivered yet)' : ''}${client.blocks.has(c.account) ? ' (blocked)' : ''}`).join('\n'))
  }

  const groups = (): void => {
    const all = peer.groups()
    if (all.length === 0) return print('no groups yet: /new <name> creates one.')
    print(all.map((g, i) => `  ${i + 1}. ${conversationName(g)}${g.kind === 'contact' ? ' (contact)' : ''}${g.id === state.open?.id ? '  <- open' : ''}`).join('\n'))
  }

  const invite = async (name: string): Promise<void> => {
    const open = state.open
    if (open === undefined || open.kind !== 'multi-member') return print('open a group first (/open, or /new <name>).')
    const invitation = open.invitation()
    if (name === '') return print(`invitation to "${safeLine(open.name)}":\n${invitation}`)
    const contact = peer.contacts().find((c) => c.state === 'accepted' && matches(c.displayName, name))
    if (contact?.group === undefined) return print(`no contact named "${name}".`)
    await client.invite(open.id, contact.account)
    print(`invitation sent to ${safeLine(contact.displayName)}.`)
  }

  const openConversation = (name: string): void => {
    if (name === '') return print('usage: /open <contact|group|number>')
    const all = peer.groups()
    const byNumber = /^\d+$/.test(name) ? all[Number(name) - 1] : undefined
    const found = byNumber ?? all.find((g) => matches(g.name, name))
    if (found === undefined) return print(`no conversation named "${name}" (see /groups).`)
    state.open = found
    print(`now talking in ${conversationName(found)}.`)
  }

  return {
    link: { usage: '/link [--qr]', help: 'your contact link, to give to people (with its QR code)', run: async (args) => { await showLink(args.split(/\s+/).includes('--qr')) } },
    add: { usage: '/add <link> [message]', help: 'ask the owner of a contact link to be your contact', run: add },
    requests: {
      usage: '/requests',
      help: 'contact requests waiting for your answer',
      run: async () => {
        const incoming = peer.contacts().filter((c) => c.state === 'incoming' && !client.blocks.has(c.account))
        print(incoming.length === 0 ? 'no contact requests.' : incoming.map((c) => `  ${safeLine(c.displayName)} (${short(c.account)})`).join('\n'))
      }
    },
    accept: { usage: '/accept [name]', help: 'accept a contact request (the latest one if no name)', run: async (args) => { await answer(args, true) } },
    decline: { usage: '/decline [name]', help: 'decline a contact request', run: async (args) => { await answer(args, false) } },
    contacts: { usage: '/contacts', help: 'your contacts and requests', run: async () => { contacts() } },
    groups: { usage: '/groups', help: 'your groups and conversations', run: async () => { groups() } },
    new: {
      usage: '/new <name>',
      help: 'create a group and open it',
      run: async (name) => {
        if (name === '') return print('usage: /new <name>')
        state.open = await peer.createGroup({ name })
        print(`created "${name}". Invite people with /invite.`)
      }
    },
    invite: { usage: '/invite [contact]', help: 'the open group\'s invitation; with a contact\'s name, send it to them', run: invite },
    join: {
      usage: '/join <invitation>',
      help: 'join a group from its invitation and open it',
      run: async (invitation) => {
        if (invitation === '') return print('usage: /join <invitation>')
        state.open = await peer.joinGroup(invitation)
        print(`joined "${safeLine(state.open.name)}".`)
      }
    },
    open: { usage: '/open <contact|group>', help: 'choose the conversation your lines go to', run: async (args) => { openConversation(args) } }
  }
}

/** `/replica`, which goes after the message commands in `/help`. */
export function replicaCommand (state: ChatState): Command {
  return {
    usage: '/replica <link>',
    help: 'ask a replica to keep the open conversation while everyone is offline',
    run: async (link) => {
      if (state.open === undefined) return state.print('open a conversation first.')
      await state.open.addReplica(link)
      state.print(`the replica now keeps ${conversationName(state.open)}.`)
    }
  }
}
