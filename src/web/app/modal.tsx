/**
 * The frame of every dialog: a native <dialog> shown modal (focus trapped,
 * Escape closes), a title, a close button; and what dialogs share: a call
 * whose error shows inside the dialog, a text with a Copy button.
 */
import type { ComponentChildren } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { errorText } from './controller.ts'
import { CloseIcon, CopyIcon } from './icons.tsx'

export function Modal ({ title, onClose, children }: { title: string, onClose: () => void, children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const dialog = ref.current
    if (dialog !== null && !dialog.open) dialog.showModal()
  }, [])
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="dialog-title" onClose={onClose}
      // A click on the backdrop lands on the <dialog> itself, outside its content.
      onClick={(e) => { if (e.target === ref.current) ref.current?.close() }}>
      <div class="dialog-body">
        <header class="dialog-header">
          <h2 id="dialog-title">{title}</h2>
          <button type="button" class="icon-button" aria-label="Close" onClick={() => { ref.current?.close() }}><CloseIcon /></button>
        </header>
        {children}
      </div>
    </dialog>
  )
}

/** A call made from a dialog: busy while it runs, its error kept to show, never dropped. */
export function useAction (): { busy: boolean, error: string | undefined, run: (action: () => Promise<void>) => Promise<void> } {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | undefined>(undefined)
  const run = async (action: () => Promise<void>): Promise<void> => {
    setBusy(true)
    setError(undefined)
    try {
      await action()
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }
  return { busy, error, run }
}

export function DialogError ({ error }: { error: string | undefined }) {
  if (error === undefined) return null
  return <p class="dialog-error" role="alert">{error}</p>
}

/** A long text to hand on: shown whole and selectable, with Copy (or, without clipboard access, selected for Ctrl+C). */
export function CopyField ({ label, value }: { label: string, value: string }) {
  const field = useRef<HTMLTextAreaElement>(null)
  const [note, setNote] = useState<string | undefined>(undefined)
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(value)
      setNote('Copied.')
    } catch {
      field.current?.focus()
      field.current?.select()
      setNote('Selected: press Ctrl+C (⌘C) to copy.')
    }
  }
  return (
    <div class="field">
      <label for="copy-field">{label}</label>
      <textarea id="copy-field" ref={field} class="input input--mono" readOnly rows={4} value={value} onFocus={(e) => { e.currentTarget.select() }} />
      <div class="field-row">
        <button type="button" class="button" onClick={() => { void copy() }}><CopyIcon /> Copy</button>
        {note !== undefined && <span class="field-note" role="status">{note}</span>}
      </div>
    </div>
  )
}
