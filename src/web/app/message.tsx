/**
 * One message: a bubble with what it answers, its files, its text (plain or
 * Markdown), an invitation card, its buttons, its time (and "edited") and,
 * for ours, how far it got; its reactions under it; its actions beside it.
 * A deleted message says only that it was.
 */
import type { JSX } from 'preact'
import type { DeliveryState, HistoryMessage } from '../api.ts'
import { Avatar } from './avatar.tsx'
import { clockTime, colorClass, displayName, fullTime } from './format.ts'
import { CheckIcon, ClockIcon, DoubleCheckIcon, FailedIcon, GroupIcon, PendingIcon } from './icons.tsx'
import { MessageActions } from './message-actions.tsx'
import { Attachments, MessageButtons, Reactions } from './message-parts.tsx'
import { MessageText } from './message-text.tsx'

const states: Record<DeliveryState, { label: string, icon: () => JSX.Element, shown?: string }> = {
  sending: { label: 'Sending', icon: ClockIcon },
  pending: { label: 'Not delivered yet', icon: PendingIcon, shown: 'not delivered yet' },
  sent: { label: 'Sent', icon: CheckIcon },
  seen: { label: 'Seen', icon: DoubleCheckIcon },
  failed: { label: 'Failed to send', icon: FailedIcon, shown: 'not sent' }
}

function State ({ state }: { state: DeliveryState }) {
  const { label, icon: StateIcon, shown } = states[state]
  return (
    <span class={`msg-state msg-state--${state}`} title={label}>
      <StateIcon />
      {shown === undefined ? <span class="visually-hidden">{label}</span> : <span>{shown}</span>}
    </span>
  )
}

export interface MessageProps {
  message: HistoryMessage
  /** In a group: others' messages carry their sender's name and avatar. */
  group: boolean
  /** We are an admin of the group: others' messages may be deleted from their menu. */
  admin: boolean
  /** The first of a run of messages from one sender: the name shows once. */
  first: boolean
  onReply: (message: HistoryMessage) => void
  onQuote: (messageId: string) => void
  onJoin: (invitation: string) => void
}

export function Message ({ message, group, admin, first, onReply, onQuote, onJoin }: MessageProps) {
  const own = message.sender.own
  const name = displayName(message.sender.name)
  const withSender = group && !own
  const reply = message.replyTo
  return (
    <article class={`msg ${own ? 'msg--own' : 'msg--other'}${first ? ' msg--first' : ''}${message.deleted ? ' msg--deleted' : ''}`} data-seq={message.seq} data-message-id={message.messageId}
      aria-label={`${own ? 'You' : name}, ${fullTime(message.sentAt)}`}>
      {withSender && (first ? <Avatar id={message.sender.account} name={name} size="sm" /> : <span class="avatar-space" />)}
      <div class="bubble">
        {withSender && first && <div class={`msg-sender ${colorClass(message.sender.account)}`} dir="auto">{name}</div>}
        {reply !== undefined && (
          <button type="button" class="quote" onClick={() => { onQuote(reply.messageId) }} title="Show the message this answers">
            <span class="quote-sender" dir="auto">{reply.sender === undefined ? 'Reply' : displayName(reply.sender)}</span>
            <span class="quote-text" dir="auto">{reply.deleted === true ? 'a deleted message' : reply.text ?? 'an earlier message'}</span>
          </button>
        )}
        {message.invitation !== undefined && (
          <div class="invitation">
            <span class="invitation-icon"><GroupIcon /></span>
            <div class="invitation-body">
              <div class="invitation-label">Group invitation</div>
              <div class="invitation-name" dir="auto">Invitation to {displayName(message.invitation.groupName, 'a group')}</div>
            </div>
            {/* Ours: we are in that group already. */}
            {!own && <button type="button" class="button button--small" onClick={() => { onJoin(message.invitation!.link) }}>Join</button>}
          </div>
        )}
        <Attachments message={message} />
        {message.deleted
          ? <span class="msg-deleted">{message.deletedByAdmin ? `${own ? 'Your message' : 'This message'} was deleted by an admin` : own ? 'You deleted this message' : 'This message was deleted'}</span>
          : message.text !== '' && <MessageText text={message.text} markdown={message.format === 'markdown'} />}
        <MessageButtons message={message} />
        <span class="msg-meta">
          {message.edited && !message.deleted && <span class="msg-edited" title="Edited by its author">edited</span>}
          <time dateTime={new Date(message.sentAt).toISOString()} title={fullTime(message.sentAt)}>{clockTime(message.sentAt)}</time>
          {own && message.state !== undefined && <State state={message.state} />}
        </span>
        <Reactions message={message} />
      </div>
      <MessageActions message={message} name={name} admin={admin} onReply={onReply} />
    </article>
  )
}
