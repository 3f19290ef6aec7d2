/** The dialogs: add a contact, your link (with the accounts blocked), new group, join a group, a group's invitation, invite and replica, and a message's (`message-dialogs.tsx`). */
import { useEffect, useState } from 'preact/hooks'
import type { BlockedAccount, Self } from '../api.ts'
import { useController } from './app-context.ts'
import { errorText } from './controller.ts'
import { displayName } from './format.ts'
import { BlockedList } from './blocked-list.tsx'
import { BlockAccount, DeleteMessage, ImageViewer } from './message-dialogs.tsx'
import { CopyField, DialogError, Modal, useAction } from './modal.tsx'
import type { DialogState, State } from './store.ts'

function Actions ({ busy, submit, onCancel }: { busy: boolean, submit: string, onCancel: () => void }) {
  return (
    <div class="dialog-actions">
      <button type="button" class="button button--quiet" onClick={onCancel}>Cancel</button>
      <button type="submit" class="button button--primary" disabled={busy}>{busy ? `${submit}…` : submit}</button>
    </div>
  )
}

function AddContact ({ onClose }: { onClose: () => void }) {
  const controller = useController()
  const [link, setLink] = useState('')
  const [message, setMessage] = useState('')
  const { busy, error, run } = useAction()
  const submit = async (): Promise<void> => {
    const result = await controller.call('addContact', { link: link.trim(), message: message.trim() === '' ? undefined : message.trim() })
    const name = displayName(result.name, 'them')
    controller.notify('info', result.delivered ? `Contact request sent to ${name}.` : `Contact request to ${name} saved: it goes out as soon as ${name} is reachable.`)
    onClose()
  }
  return (
    <Modal title="Add a contact" onClose={onClose}>
      <form onSubmit={(e) => { e.preventDefault(); void run(submit) }}>
        <div class="field">
          <label for="contact-link">Their contact link</label>
          <textarea id="contact-link" class="input input--mono" rows={4} required placeholder="bertybot://contact/…" value={link} onInput={(e) => { setLink(e.currentTarget.value) }} />
        </div>
        <div class="field">
          <label for="contact-message">Message with the request <span class="optional">(optional)</span></label>
          <input id="contact-message" class="input" maxLength={2000} placeholder="Hi, it's me" value={message} onInput={(e) => { setMessage(e.currentTarget.value) }} />
        </div>
        <DialogError error={error} />
        <Actions busy={busy} submit="Send request" onCancel={onClose} />
      </form>
    </Modal>
  )
}

function YourLink ({ self, blocked, onClose }: { self: Self, blocked: BlockedAccount[], onClose: () => void }) {
  return (
    <Modal title="Your contact link" onClose={onClose}>
      <p class="dialog-text">Anyone with this link can ask to become your contact. Share it, or let them scan the code.</p>
      <div class="qr">
        <img alt="QR code of your contact link" src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(self.qrSvg)}`} />
      </div>
      <CopyField label="Link" value={self.link} />
      <BlockedList blocked={blocked} />
    </Modal>
  )
}

function NewGroup ({ onClose }: { onClose: () => void }) {
  const controller = useController()
  const [name, setName] = useState('')
  const { busy, error, run } = useAction()
  const submit = async (): Promise<void> => {
    const { conversation } = await controller.call('createGroup', { name: name.trim() })
    onClose()
    controller.open(conversation)
  }
  return (
    <Modal title="New group" onClose={onClose}>
      <form onSubmit={(e) => { e.preventDefault(); void run(submit) }}>
        <div class="field">
          <label for="group-name">Group name</label>
          <input id="group-name" class="input" required maxLength={200} value={name} onInput={(e) => { setName(e.currentTarget.value) }} />
        </div>
        <DialogError error={error} />
        <Actions busy={busy} submit="Create" onCancel={onClose} />
      </form>
    </Modal>
  )
}

function JoinGroup ({ onClose, initial }: { onClose: () => void, initial: string | undefined }) {
  const controller = useController()
  const [invitation, setInvitation] = useState(initial ?? '')
  const { busy, error, run } = useAction()
  const submit = async (): Promise<void> => {
    const { conversation } = await controller.call('joinGroup', { invitation: invitation.trim() })
    onClose()
    controller.open(conversation)
  }
  return (
    <Modal title="Join a group" onClose={onClose}>
      <form onSubmit={(e) => { e.preventDefault(); void run(submit) }}>
        <div class="field">
          <label for="invitation-link">Invitation</label>
          <textarea id="invitation-link" class="input input--mono" rows={4} required placeholder="bertybot://group/…" value={invitation} onInput={(e) => { setInvitation(e.currentTarget.value) }} />
        </div>
        <DialogError error={error} />
        <Actions busy={busy} submit="Join" onCancel={onClose} />
      </form>
    </Modal>
  )
}

function Invitation ({ conversation, onClose }: { conversation: string, onClose: () => void }) {
  const controller = useController()
  const [link, setLink] = useState<string | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  useEffect(() => {
    controller.call('invitation', { conversation }).then((r) => { setLink(r.invitation) }, (err: unknown) => { setError(errorText(err)) })
  }, [conversation])
  return (
    <Modal title="Invitation link" onClose={onClose}>
      <p class="dialog-text">Whoever has this link can join the group and read what is written in it from then on.</p>
      {link !== undefined && <CopyField label="Invitation" value={link} />}
      {link === undefined && error === undefined && <p class="dialog-text"><span class="spinner" aria-hidden="true" /> Getting the invitation…</p>}
      <DialogError error={error} />
    </Modal>
  )
}

function Invite ({ conversation, state, onClose }: { conversation: string, state: State, onClose: () => void }) {
  const controller = useController()
  const contacts = state.conversations.filter((c) => c.kind === 'contact')
  const [contact, setContact] = useState<string | undefined>(undefined)
  const { busy, error, run } = useAction()
  const submit = async (): Promise<void> => {
    if (contact === undefined) throw new Error('Choose a contact to invite.')
    await controller.call('invite', { conversation, contact })
    const name = displayName(contacts.find((c) => c.id === contact)?.name ?? '', 'your contact')
    controller.notify('info', `Invitation sent to ${name}.`)
    onClose()
  }
  return (
    <Modal title="Invite a contact" onClose={onClose}>
      <form onSubmit={(e) => { e.preventDefault(); void run(submit) }}>
        {contacts.length === 0
          ? <p class="dialog-text">You have no contacts yet: add one first.</p>
          : (
            <fieldset class="choices">
              <legend>Contact</legend>
              {contacts.map((c) => (
                <label key={c.id} class="choice">
                  <input type="radio" name="contact" value={c.id} checked={contact === c.id} onChange={() => { setContact(c.id) }} />
                  <span dir="auto">{displayName(c.name)}</span>
                </label>
              ))}
            </fieldset>
            )}
        <DialogError error={error} />
        <Actions busy={busy} submit="Invite" onCancel={onClose} />
      </form>
    </Modal>
  )
}

function Replica ({ conversation, onClose }: { conversation: string, onClose: () => void }) {
  const controller = useController()
  const [link, setLink] = useState('')
  const { busy, error, run } = useAction()
  const submit = async (): Promise<void> => {
    await controller.call('addReplica', { conversation, link: link.trim() })
    controller.notify('info', 'Replica added: it keeps the group\'s messages for members who are offline.')
    onClose()
  }
  return (
    <Modal title="Add a replica" onClose={onClose}>
      <form onSubmit={(e) => { e.preventDefault(); void run(submit) }}>
        <p class="dialog-text">A replica is a server that holds the group's encrypted messages, so members get them when the others are offline.</p>
        <div class="field">
          <label for="replica-link">Replica link</label>
          <textarea id="replica-link" class="input input--mono" rows={3} required placeholder="bertybot://replica/…" value={link} onInput={(e) => { setLink(e.currentTarget.value) }} />
        </div>
        <DialogError error={error} />
        <Actions busy={busy} submit="Add replica" onCancel={onClose} />
      </form>
    </Modal>
  )
}

export function Dialogs ({ dialog, state }: { dialog: DialogState | undefined, state: State }) {
  const controller = useController()
  if (dialog === undefined) return null
  const close = (): void => { controller.openDialog(undefined) }
  switch (dialog.kind) {
    case 'addContact': return <AddContact onClose={close} />
    case 'link': return state.self === undefined ? null : <YourLink self={state.self} blocked={state.blocked} onClose={close} />
    case 'newGroup': return <NewGroup onClose={close} />
    case 'joinGroup': return <JoinGroup onClose={close} initial={dialog.invitation} />
    case 'invitation': return <Invitation conversation={dialog.conversation} onClose={close} />
    case 'invite': return <Invite conversation={dialog.conversation} state={state} onClose={close} />
    case 'replica': return <Replica conversation={dialog.conversation} onClose={close} />
    case 'deleteMessage': return <DeleteMessage message={dialog.message} onClose={close} />
    case 'block': return <BlockAccount account={dialog.account} name={dialog.name} onClose={close} />
    case 'image': return <ImageViewer {...dialog} onClose={close} />
  }
}
