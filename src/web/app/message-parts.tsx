/**
 * What a message may carry besides its text: files (an image shown from its
 * preview and opened in full on click, any other file as a download), rows
 * of buttons (a press goes to the message's author; ours are marked), and
 * the reactions under it (each a toggle of ours).
 */
import type { HistoryMessage, MessageFile } from '../api.ts'
import { useController } from './app-context.ts'
import { CheckIcon, FileIcon } from './icons.tsx'
import { fileUrl, sizeText } from './upload.ts'

const INLINE_IMAGE = /^image\/(png|jpeg|gif|webp|avif)$/i

function Attachment ({ message, file }: { message: HistoryMessage, file: MessageFile }) {
  const controller = useController()
  const { conversation, seq } = message
  const image = INLINE_IMAGE.test(file.type)
  const open = (): void => { controller.openDialog({ kind: 'image', conversation, seq, index: file.index, name: file.name }) }
  if (image && file.preview) {
    return (
      <button type="button" class="attachment-image" title={`Open ${file.name}`} onClick={open}>
        <img src={fileUrl(conversation, seq, file.index, 'preview')} alt={file.name} loading="lazy" />
      </button>
    )
  }
  return (
    <div class="attachment-file">
      <span class="attachment-icon"><FileIcon /></span>
      <span class="attachment-body">
        <span class="attachment-name" dir="auto">{file.name}</span>
        <span class="attachment-size">{sizeText(file.size)}</span>
      </span>
      {image && <button type="button" class="button button--small" onClick={open}>Open</button>}
      <a class="button button--small" href={fileUrl(conversation, seq, file.index, 'download')} download={file.name}>Save</a>
    </div>
  )
}

export function Attachments ({ message }: { message: HistoryMessage }) {
  if (message.files.length === 0) return null
  return <div class="attachments">{message.files.map((file) => <Attachment key={file.index} message={message} file={file} />)}</div>
}

export function MessageButtons ({ message }: { message: HistoryMessage }) {
  const controller = useController()
  if (message.buttons.length === 0 || message.deleted) return null
  const press = (payload: string): void => {
    void controller.act('press', { conversation: message.conversation, seq: message.seq, payload }, 'The button press was not sent')
  }
  return (
    <div class="msg-buttons" role="group" aria-label="Buttons">
      {message.buttons.map((row, r) => (
        <div key={r} class="msg-button-row">
          {row.map((button) => {
            const pressed = message.pressed.includes(button.payload)
            return (
              <button key={button.payload} type="button" class={`msg-button${pressed ? ' msg-button--pressed' : ''}`} aria-pressed={pressed}
                disabled={message.messageId === undefined} onClick={() => { press(button.payload) }}>
                {pressed && <CheckIcon />}<span dir="auto">{button.label}</span>
              </button>
            )
          })}
        </div>
      ))}
    </div>
  )
}

export function Reactions ({ message }: { message: HistoryMessage }) {
  const controller = useController()
  if (message.reactions.length === 0) return null
  return (
    <div class="reactions">
      {message.reactions.map((r) => (
        <button key={r.emoji} type="button" class={`reaction${r.own ? ' reaction--own' : ''}`} aria-pressed={r.own}
          title={`${r.names.join(', ')} reacted with ${r.emoji}`}
          aria-label={`${r.emoji} ${r.count}: ${r.names.join(', ')}${r.own ? '. Take yours back' : '. Add yours'}`}
          onClick={() => { void controller.act('react', { conversation: message.conversation, seq: message.seq, emoji: r.emoji, remove: r.own }, 'The reaction was not sent') }}>
          <span class="reaction-emoji">{r.emoji}</span><span class="reaction-count">{r.count}</span>
        </button>
      ))}
    </div>
  )
}
