/** The conversations, newest first: avatar, name, the last message on one line, its time, what is unread. */
import type { ConversationSummary } from '../api.ts'
import { useController } from './app-context.ts'
import { Avatar } from './avatar.tsx'
import { displayName, listTime } from './format.ts'

function preview (c: ConversationSummary): { sender?: string, text: string } {
  const last = c.last
  if (last === undefined) return { text: c.kind === 'group' ? 'No messages yet' : 'New contact' }
  const text = last.deleted
    ? 'Message deleted'
    : last.text === '' && last.invitation !== undefined
      ? `Invitation to ${displayName(last.invitation.groupName, 'a group')}`
      : last.text === '' && last.files[0] !== undefined ? `📎 ${last.files[0].name}` : last.text
  // One line: the list shows where a text starts, not its line breaks.
  const line = text.slice(0, 300).replace(/\s+/g, ' ')
  if (last.sender.own) return { sender: 'You', text: line }
  return { sender: c.kind === 'group' ? displayName(last.sender.name) : undefined, text: line }
}

function Item ({ conversation, open }: { conversation: ConversationSummary, open: boolean }) {
  const controller = useController()
  const name = displayName(conversation.name)
  const { sender, text } = preview(conversation)
  const unread = conversation.unread
  return (
    <li>
      <button type="button" class={`conv${open ? ' conv--open' : ''}${unread > 0 ? ' conv--unread' : ''}`} aria-current={open ? 'true' : undefined}
        data-conversation={conversation.id} onClick={() => { controller.open(conversation.id) }}>
        <Avatar id={conversation.id} name={name} />
        <span class="conv-body">
          <span class="conv-top">
            <span class="conv-name" dir="auto">{name}</span>
            {conversation.last !== undefined && <time class="conv-time">{listTime(conversation.last.sentAt)}</time>}
          </span>
          <span class="conv-bottom">
            <span class="conv-preview">
              {sender !== undefined && <span class="conv-preview-sender"><bdi>{sender}</bdi>: </span>}
              <bdi>{text}</bdi>
            </span>
            {unread > 0 && <span class="badge" aria-label={`${unread} unread`}>{unread > 999 ? '999+' : unread}</span>}
          </span>
        </span>
      </button>
    </li>
  )
}

export function ConversationList ({ conversations, open }: { conversations: ConversationSummary[], open: string | undefined }) {
  if (conversations.length === 0) {
    return <p class="sidebar-empty">No conversations yet. Add a contact with their link, or start a group.</p>
  }
  return (
    <ul class="conv-list" aria-label="Conversations">
      {conversations.map((c) => <Item key={c.id} conversation={c} open={c.id === open} />)}
    </ul>
  )
}
