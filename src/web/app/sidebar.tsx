/** The left pane: who you are, what you can start, the requests, the conversations. */
import type { State } from './store.ts'
import { useController } from './app-context.ts'
import { Avatar } from './avatar.tsx'
import { ConversationList } from './conversation-list.tsx'
import { displayName } from './format.ts'
import { AddContactIcon, GroupIcon, JoinIcon, QrIcon } from './icons.tsx'
import { Requests } from './requests.tsx'

export function Sidebar ({ state }: { state: State }) {
  const controller = useController()
  const self = state.self
  if (self === undefined) return null
  const name = displayName(self.name, 'you')
  return (
    <aside class="sidebar" aria-label="Conversations and contacts">
      <header class="sidebar-header">
        <Avatar id={self.account} name={name} />
        <div class="self">
          <div class="self-name" dir="auto">{name}</div>
          <div class="self-note">bertybot web</div>
        </div>
      </header>
      <nav class="sidebar-actions" aria-label="Start">
        <button type="button" class="action" onClick={() => { controller.openDialog({ kind: 'addContact' }) }}><AddContactIcon /><span>Add contact</span></button>
        <button type="button" class="action" onClick={() => { controller.openDialog({ kind: 'newGroup' }) }}><GroupIcon /><span>New group</span></button>
        <button type="button" class="action" onClick={() => { controller.openDialog({ kind: 'joinGroup' }) }}><JoinIcon /><span>Join group</span></button>
        <button type="button" class="action" onClick={() => { controller.openDialog({ kind: 'link' }) }}><QrIcon /><span>Your link</span></button>
      </nav>
      <div class="sidebar-scroll">
        <Requests requests={state.requests} />
        <ConversationList conversations={state.conversations} open={state.open} />
      </div>
    </aside>
  )
}
