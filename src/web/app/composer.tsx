/**
 * Writing a message: Enter sends, Shift+Enter starts a new line; the message
 * being answered, or our message being edited, shows above; a bot's commands
 * complete after `/`; the paperclip sends files (each checked against the
 * largest file the peer sends, then uploaded: `upload.ts`).
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { MAX_TEXT, type ConversationSummary, type HistoryMessage } from '../api.ts'
import { useController } from './app-context.ts'
import { commandName, matchCommands } from './commands.ts'
import { displayName } from './format.ts'
import { errorText } from './controller.ts'
import { AttachIcon, CheckIcon, CloseIcon, EditIcon, ReplyIcon, SendIcon } from './icons.tsx'
import { sizeText, uploadFile } from './upload.ts'

/** What was typed and not sent, per conversation, while the page is open. */
const drafts = new Map<string, string>()

function ReplyPreview ({ message, onCancel }: { message: HistoryMessage, onCancel: () => void }) {
  const name = message.sender.own ? 'yourself' : displayName(message.sender.name)
  return (
    <div class="composer-reply">
      <ReplyIcon />
      <div class="composer-reply-body">
        <span class="composer-reply-label">Replying to <bdi>{name}</bdi>:</span>{' '}
        <span class="composer-reply-text" dir="auto">{message.text === '' ? 'an invitation' : message.text}</span>
      </div>
      <button type="button" class="icon-button" aria-label="Cancel the reply" title="Cancel the reply" onClick={onCancel}><CloseIcon /></button>
    </div>
  )
}

function EditPreview ({ message, onCancel }: { message: HistoryMessage, onCancel: () => void }) {
  return (
    <div class="composer-reply composer-edit">
      <EditIcon />
      <div class="composer-reply-body">
        <span class="composer-reply-label">Editing your message:</span>{' '}
        <span class="composer-reply-text" dir="auto">{message.text}</span>
      </div>
      <button type="button" class="icon-button" aria-label="Cancel the edit" title="Cancel the edit" onClick={onCancel}><CloseIcon /></button>
    </div>
  )
}

/** The paperclip, its hidden file input, and the files on their way. */
function AttachButton ({ conversation, replying }: { conversation: string, replying: HistoryMessage | undefined }) {
  const controller = useController()
  const input = useRef<HTMLInputElement>(null)
  const send = async (file: File): Promise<void> => {
    const max = controller.store.state.maxFileSize
    if (file.size > max) {
      controller.notify('error', `${file.name} has ${sizeText(file.size)}; files of at most ${sizeText(max)} can be sent.`)
      return
    }
    controller.setUploading(conversation, (names) => [...names, file.name])
    try {
      controller.shown(await uploadFile(conversation, file, replying?.messageId))
      controller.setReplying(conversation, undefined)
    } catch (err) {
      controller.notify('error', `${file.name} was not sent: ${errorText(err)}`)
    } finally {
      controller.setUploading(conversation, (names) => names.filter((n, i) => n !== file.name || i !== names.indexOf(file.name)))
    }
  }
  return (
    <>
      <input ref={input} type="file" multiple class="visually-hidden" id="composer-file" tabIndex={-1} aria-hidden="true"
        onChange={(e) => {
          const files = [...(e.currentTarget.files ?? [])]
          e.currentTarget.value = ''
          for (const file of files) void send(file)
        }} />
      <button type="button" class="icon-button attach-button" aria-label="Send a file" title="Send a file" onClick={() => { input.current?.click() }}><AttachIcon /></button>
    </>
  )
}

export function Composer ({ conversation }: { conversation: ConversationSummary }) {
  const controller = useController()
  const replying = controller.store.state.replying[conversation.id]
  const editing = controller.store.state.editing[conversation.id]
  const uploading = controller.store.state.uploading[conversation.id] ?? []
  const [text, setText] = useState(drafts.get(conversation.id) ?? '')
  const [selected, setSelected] = useState(0)
  const [dismissed, setDismissed] = useState(false)
  const input = useRef<HTMLTextAreaElement>(null)

  const matches = dismissed ? [] : matchCommands(text, conversation.commands)
  const completing = matches.length > 0
  const active = Math.min(selected, matches.length - 1)

  useEffect(() => { input.current?.focus() }, [conversation.id])
  // Editing starts from the message's text; the draft waits meanwhile.
  useEffect(() => {
    if (editing !== undefined) setText(editing.text)
  }, [editing?.seq])
  useEffect(() => { if (editing === undefined) drafts.set(conversation.id, text) }, [text, conversation.id])

  const stopEditing = (): void => {
    controller.setEditing(conversation.id, undefined)
    setText(drafts.get(conversation.id) ?? '')
  }

  const change = (value: string): void => {
    setText(value)
    setSelected(0)
    setDismissed(false)
  }

  const pick = (index: number): void => {
    const command = matches[index]
    if (command === undefined) return
    change(`${commandName(command.usage, conversation.commands)} `)
    input.current?.focus()
  }

  const send = async (): Promise<void> => {
    const message = text.replace(/\s+$/, '')
    if (message.trim() === '') return
    if (message.length > MAX_TEXT) {
      controller.notify('error', `This message has ${message.length.toLocaleString()} characters; the limit is ${MAX_TEXT.toLocaleString()}.`)
      return
    }
    if (editing !== undefined) {
      if (message !== editing.text && !await controller.act('edit', { conversation: conversation.id, seq: editing.seq, text: message }, 'The edit was not sent')) return
      stopEditing()
      return
    }
    change('')
    const sent = await controller.send(conversation.id, message, replying)
    // Not sent: the text comes back, unless something new was typed meanwhile.
    if (!sent) setText((now) => now === '' ? message : now)
  }

  const onKeyDown = (e: KeyboardEvent): void => {
    if (e.isComposing) return
    if (completing) {
      const name = commandName(matches[active]?.usage ?? '', conversation.commands)
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault()
        setSelected((active + (e.key === 'ArrowDown' ? 1 : matches.length - 1)) % matches.length)
        return
      }
      if (e.key === 'Escape') {
        e.preventDefault()
        setDismissed(true)
        return
      }
      // Enter on a name typed in full sends it; otherwise Tab and Enter complete.
      if (e.key === 'Tab' || (e.key === 'Enter' && !e.shiftKey && text.trim().toLowerCase() !== name.toLowerCase())) {
        e.preventDefault()
        pick(active)
        return
      }
    }
    if (e.key === 'Escape' && editing !== undefined) {
      stopEditing()
      return
    }
    if (e.key === 'Escape' && replying !== undefined) {
      controller.setReplying(conversation.id, undefined)
      return
    }
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault()
      void send()
    }
  }

  return (
    <form class="composer" onSubmit={(e) => { e.preventDefault(); void send() }}>
      {editing !== undefined && <EditPreview message={editing} onCancel={() => { stopEditing(); input.current?.focus() }} />}
      {uploading.length > 0 && <p class="composer-uploading" role="status"><span class="spinner" aria-hidden="true" /> Sending {uploading.join(', ')}…</p>}
      {replying !== undefined && editing === undefined && <ReplyPreview message={replying} onCancel={() => { controller.setReplying(conversation.id, undefined); input.current?.focus() }} />}
      {completing && (
        <ul class="commands" id="command-list" role="listbox" aria-label="Commands">
          {matches.map((c, i) => (
            <li key={c.usage} id={`command-${i}`} role="option" aria-selected={i === active} class={i === active ? 'command command--active' : 'command'}
              onMouseDown={(e) => { e.preventDefault(); pick(i) }} onMouseEnter={() => { setSelected(i) }}>
              <span class="command-usage">{c.usage}</span>
              {c.description !== '' && <span class="command-description">{c.description}</span>}
            </li>
          ))}
        </ul>
      )}
      <div class="composer-row">
        {editing === undefined && <AttachButton conversation={conversation.id} replying={replying} />}
        <label class="visually-hidden" for="composer-input">Message to {conversation.name}</label>
        <textarea id="composer-input" ref={input} class="composer-input" rows={1} dir="auto" placeholder={conversation.commands.length > 0 ? 'Message, or / for commands' : 'Message'}
          value={text} onInput={(e) => { change(e.currentTarget.value) }} onKeyDown={onKeyDown}
          aria-autocomplete="list" aria-controls={completing ? 'command-list' : undefined}
          aria-activedescendant={completing ? `command-${active}` : undefined} />
        <button type="submit" class="icon-button send-button" aria-label={editing === undefined ? 'Send' : 'Save the edit'} title={editing === undefined ? 'Send (Enter)' : 'Save (Enter)'} disabled={text.trim() === ''}>{editing === undefined ? <SendIcon /> : <CheckIcon />}</button>
      </div>
    </form>
  )
}
