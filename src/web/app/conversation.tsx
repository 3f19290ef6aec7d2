/** The main pane: the open conversation's header and actions, its history, the composer. */
import type { ConversationSummary } from '../api.ts'
import { useController } from './app-context.ts'
import { Avatar } from './avatar.tsx'
import { Composer } from './composer.tsx'
import { displayName } from './format.ts'
import { History } from './history.tsx'
import { BackIcon, InviteIcon, LinkIcon, ReplicaIcon } from './icons.tsx'
import type { LoadedHistory } from './store.ts'

function subtitle (c: ConversationSummary): string {
  if (c.kind === 'group') return `${c.members} member${c.members === 1 ? '' : 's'}`
  if (c.commands.length > 0) return `bot · ${c.commands.length} command${c.commands.length === 1 ? '' : 's'}, type / to see them`
  return 'contact'
}

function Header ({ conversation }: { conversation: ConversationSummary }) {
  const controller = useController()
  const name = displayName(conversation.name)
  return (
    <header class="conversation-header">
      <button type="button" class="icon-button back-button" aria-label="Back to the conversations" onClick={() => { controller.open(undefined) }}><BackIcon /></button>
      <Avatar id={conversation.id} name={name} />
      <div class="conversation-title">
        <h1 dir="auto">{name}</h1>
        <p>{subtitle(conversation)}</p>
      </div>
      {conversation.kind === 'group' && (
        <div class="conversation-actions">
          <button type="button" class="icon-button" title="Invitation link" aria-label="Invitation link" onClick={() => { controller.openDialog({ kind: 'invitation', conversation: conversation.id }) }}><LinkIcon /></button>
          <button type="button" class="icon-button" title="Invite a contact" aria-label="Invite a contact" onClick={() => { controller.openDialog({ kind: 'invite', conversation: conversation.id }) }}><InviteIcon /></button>
          <button type="button" class="icon-button" title="Add a replica" aria-label="Add a replica" onClick={() => { controller.openDialog({ kind: 'replica', conversation: conversation.id }) }}><ReplicaIcon /></button>
        </div>
      )}
    </header>
  )
}

export function Conversation ({ conversation, history }: { conversation: ConversationSummary, history: LoadedHistory | undefined }) {
  return (
    <section class="conversation" aria-label={`Conversation with ${displayName(conversation.name)}`}>
      <Header conversation={conversation} />
      <History key={conversation.id} conversation={conversation.id} history={history} group={conversation.kind === 'group'} admin={conversation.admin} />
      <Composer key={conversation.id} conversation={conversation} />
    </section>
  )
}
