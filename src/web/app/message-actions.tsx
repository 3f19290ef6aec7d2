/**
 * The actions beside a message: react (a small picker of common emoji),
 * reply, and a menu: Edit and Delete for our own messages; for others'
 * (the sender: a contact, or a group's member), Delete where we are the
 * group's admin, and Block (asked first) or Unblock. Popovers
 * close on Escape, on a choice, and on a click elsewhere.
 */
import type { RefObject } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import type { HistoryMessage } from '../api.ts'
import { useController } from './app-context.ts'
import { errorText } from './controller.ts'
import { MoreIcon, ReactIcon, ReplyIcon } from './icons.tsx'

export const COMMON_EMOJI = ['👍', '❤️', '😂', '😮', '😢', '🙏', '🎉', '👀']

/** Which popover is open, and the hook that closes it from outside. */
function usePopover (): { open: 'react' | 'menu' | undefined, toggle: (which: 'react' | 'menu') => void, close: () => void, ref: RefObject<HTMLDivElement | null> } {
  const [open, setOpen] = useState<'react' | 'menu' | undefined>(undefined)
  const ref = useRef<HTMLDivElement>(null)
  useEffect(() => {
    if (open === undefined) return
    const away = (e: Event): void => { if (ref.current !== null && !ref.current.contains(e.target as Node)) setOpen(undefined) }
    const escape = (e: KeyboardEvent): void => { if (e.key === 'Escape') setOpen(undefined) }
    document.addEventListener('pointerdown', away)
    document.addEventListener('keydown', escape)
    return () => {
      document.removeEventListener('pointerdown', away)
      document.removeEventListener('keydown', escape)
    }
  }, [open])
  return { open, toggle: (which) => { setOpen(open === which ? undefined : which) }, close: () => { setOpen(undefined) }, ref }
}

export function MessageActions ({ message, name, admin, onReply }: { message: HistoryMessage, name: string, admin: boolean, onReply: (message: HistoryMessage) => void }) {
  const controller = useController()
  const { open, toggle, close, ref } = usePopover()
  if (message.messageId === undefined || message.deleted) return null
  const own = message.sender.own
  // Invitations are nobody's to change: peers keep no author for them.
  const changeable = message.invitation === undefined
  const mine = new Set(message.reactions.filter((r) => r.own).map((r) => r.emoji))
  // The app renders every message again on each change of the store, this list's included.
  const blocked = !own && controller.store.state.blocked.some((b) => b.account === message.sender.account)
  const unblock = async (): Promise<void> => {
    try {
      await controller.setBlocked(message.sender.account, name, false)
      controller.notify('info', `${name} is unblocked: what they send from now on shows.`)
    } catch (err) {
      controller.notify('error', `Could not unblock ${name}: ${errorText(err)}`)
    }
  }
  const react = (emoji: string): void => {
    close()
    void controller.act('react', { conversation: message.conversation, seq: message.seq, emoji, remove: mine.has(emoji) }, 'The reaction was not sent')
  }
  return (
    <div class={`msg-actions${open === undefined ? '' : ' msg-actions--open'}`} ref={ref}>
      <button type="button" class="icon-button msg-action" aria-label="React" title="React" aria-expanded={open === 'react'} onClick={() => { toggle('react') }}><ReactIcon /></button>
      <button type="button" class="icon-button msg-action msg-reply" aria-label={`Reply to ${own ? 'your message' : name}`} title="Reply" onClick={() => { onReply(message) }}><ReplyIcon /></button>
      {(!own || changeable) && (
        <button type="button" class="icon-button msg-action" aria-label="More actions" title="More" aria-haspopup="menu" aria-expanded={open === 'menu'} onClick={() => { toggle('menu') }}><MoreIcon /></button>
      )}
      {open === 'react' && (
        <div class="popover emoji-picker" role="group" aria-label="Pick a reaction">
          {COMMON_EMOJI.map((emoji) => (
            <button key={emoji} type="button" class={`emoji-choice${mine.has(emoji) ? ' emoji-choice--own' : ''}`} aria-label={`React with ${emoji}`} aria-pressed={mine.has(emoji)} onClick={() => { react(emoji) }}>{emoji}</button>
          ))}
        </div>
      )}
      {open === 'menu' && !own && (
        <div class="popover msg-menu" role="menu" aria-label="Message actions">
          {admin && changeable && <button type="button" role="menuitem" class="menu-item menu-item--danger" onClick={() => { close(); controller.openDialog({ kind: 'deleteMessage', message }) }}>Delete</button>}
          {blocked
            ? <button type="button" role="menuitem" class="menu-item" onClick={() => { close(); void unblock() }}>Unblock {name}</button>
            : <button type="button" role="menuitem" class="menu-item menu-item--danger" onClick={() => { close(); controller.openDialog({ kind: 'block', account: message.sender.account, name }) }}>Block {name}</button>}
        </div>
      )}
      {open === 'menu' && own && (
        <div class="popover msg-menu" role="menu" aria-label="Message actions">
          <button type="button" role="menuitem" class="menu-item" onClick={() => { close(); controller.setEditing(message.conversation, message); document.getElementById('composer-input')?.focus() }}>Edit</button>
          <button type="button" role="menuitem" class="menu-item menu-item--danger" onClick={() => { close(); controller.openDialog({ kind: 'deleteMessage', message }) }}>Delete</button>
        </div>
      )}
    </div>
  )
}
