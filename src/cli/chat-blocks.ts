/**
 * The chat's commands for blocking: `/block` an account named by a message's
 * number (its sender), a contact's or the open group's member's name, an
 * account id or a contact link; `/blocked` lists them, numbered; `/unblock`
 * takes one of those numbers or names. What a block means is the client's
 * (`src/client/blocked-accounts.ts`): nothing the account sends from then on
 * is shown, and its contact request is not listed.
 */
import type { BlockedView } from '../client/index.ts'
import { safeLine, short } from './chat-lines.ts'
import { matches, type ChatState, type Command } from './chat-session.ts'

export function blockCommands (state: ChatState): Record<string, Command> {
  const { client, peer, print } = state

  /** The account `who` names, with a name to show, or undefined after saying why not. */
  const named = async (who: string): Promise<{ account: string, name: string } | undefined> => {
    if (/^#?\d+$/.test(who)) {
      const shown = state.shown.byNumber(Number(who.replace('#', '')))
      if (shown === undefined) {
        print(`no message #${who.replace('#', '')} (the numbers are those shown since this chat started).`)
        return undefined
      }
      const message = (await client.history(shown.group.id, { before: shown.seq + 1, limit: 1 })).messages[0]
      if (message === undefined || message.sender.own) {
        print(`message #${who.replace('#', '')} is yours.`)
        return undefined
      }
      return { account: message.sender.account, name: message.sender.name }
    }
    const contact = peer.contacts().find((c) => matches(c.displayName, who))
    if (contact !== undefined) return { account: contact.account, name: contact.displayName }
    const member = state.open?.kind === 'multi-member' ? state.open.members().find((m) => m.displayName !== undefined && matches(m.displayName, who)) : undefined
    if (member !== undefined) return { account: member.account, name: member.displayName ?? '' }
    // An account id or a contact link: the client checks it.
    return { account: who, name: '' }
  }

  const block = async (who: string): Promise<void> => {
    if (who === '') return print('usage: /block <n|name|account|link>, n being the number shown before a message (#3)')
    const found = await named(who)
    if (found === undefined) return
    const blocked = await client.blocks.block(found.account, found.name)
    print(`blocked ${label(blocked)}: nothing it sends is shown from now on. /unblock to undo.`)
  }

  const unblock = async (who: string): Promise<void> => {
    if (who === '') return print('usage: /unblock <n|name>, n being its number in /blocked')
    const all = client.blocks.list()
    const found = /^\d+$/.test(who) ? all[Number(who) - 1] : all.find((b) => matches(b.name, who) || b.account === who)
    if (found === undefined) return print(`no blocked account "${who}" (see /blocked).`)
    await client.blocks.unblock(found.account)
    print(`unblocked ${label(found)}: what it sends from now on is shown.`)
  }

  const list = (): void => {
    const all = client.blocks.list()
    print(all.length === 0 ? 'no one is blocked.' : all.map((b, i) => `  ${i + 1}. ${label(b)}  since ${new Date(b.since).toLocaleString()}`).join('\n'))
  }

  return {
    block: { usage: '/block <n|name>', help: 'ignore the sender of message n, or a contact or member: nothing they send is shown', run: block },
    unblock: { usage: '/unblock <n|name>', help: 'hear a blocked account again (n: its number in /blocked)', run: unblock },
    blocked: { usage: '/blocked', help: 'the accounts you blocked', run: async () => { list() } }
  }
}

function label (blocked: BlockedView): string {
  return `${safeLine(blocked.name)} (${short(blocked.account)})`
}
