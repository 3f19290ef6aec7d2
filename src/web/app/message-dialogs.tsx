/** The dialogs of a message: deleting one of ours (asked first), blocking its sender (asked first), and an image opened in full. */
import type { HistoryMessage } from '../api.ts'
import { useController } from './app-context.ts'
import { DialogError, Modal, useAction } from './modal.tsx'
import { fileUrl } from './upload.ts'

export function DeleteMessage ({ message, onClose }: { message: HistoryMessage, onClose: () => void }) {
  const controller = useController()
  const { busy, error, run } = useAction()
  const submit = async (): Promise<void> => {
    const { message: deleted } = await controller.call('delete', { conversation: message.conversation, seq: message.seq })
    controller.shown(deleted)
    onClose()
  }
  return (
    <Modal title="Delete this message?" onClose={onClose}>
      <form onSubmit={(e) => { e.preventDefault(); void run(submit) }}>
        <p class="dialog-text">It is deleted for everyone in the conversation, and its text leaves this device. Others may have read it already.</p>
        <blockquote class="dialog-quote" dir="auto">{message.text === '' ? message.files.map((f) => f.name).join(', ') : message.text.slice(0, 300)}</blockquote>
        <DialogError error={error} />
        <div class="dialog-actions">
          <button type="button" class="button button--quiet" onClick={onClose}>Cancel</button>
          <button type="submit" class="button button--danger" disabled={busy}>{busy ? 'Deleting…' : 'Delete'}</button>
        </div>
      </form>
    </Modal>
  )
}

export function BlockAccount ({ account, name, onClose }: { account: string, name: string, onClose: () => void }) {
  const controller = useController()
  const { busy, error, run } = useAction()
  const submit = async (): Promise<void> => {
    await controller.setBlocked(account, name, true)
    controller.notify('info', `${name} is blocked. Unblock in Your link.`)
    onClose()
  }
  return (
    <Modal title={`Block ${name}?`} onClose={onClose}>
      <form onSubmit={(e) => { e.preventDefault(); void run(submit) }}>
        <p class="dialog-text">Nothing {name} sends from now on is shown, here or in any group: messages, reactions, edits, invitations, contact requests. They are not told. What they sent while blocked stays hidden after you unblock them.</p>
        <DialogError error={error} />
        <div class="dialog-actions">
          <button type="button" class="button button--quiet" onClick={onClose}>Cancel</button>
          <button type="submit" class="button button--danger" disabled={busy}>{busy ? 'Blocking…' : 'Block'}</button>
        </div>
      </form>
    </Modal>
  )
}

export function ImageViewer ({ conversation, seq, index, name, onClose }: { conversation: string, seq: number, index: number, name: string, onClose: () => void }) {
  return (
    <Modal title={name} onClose={onClose}>
      <div class="image-viewer">
        <img src={fileUrl(conversation, seq, index, 'file')} alt={name} />
      </div>
      <div class="dialog-actions">
        <a class="button" href={fileUrl(conversation, seq, index, 'download')} download={name}>Save</a>
      </div>
    </Modal>
  )
}
