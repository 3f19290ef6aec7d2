/**
 * The open conversation's messages: grouped into days and runs of one
 * sender, kept at the bottom while the person is there, paging back when they
 * scroll near the top without moving what they are looking at.
 */
import { Fragment } from 'preact'
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import type { HistoryMessage } from '../api.ts'
import { useController } from './app-context.ts'
import { dayLabel, sameDay } from './format.ts'
import { Message } from './message.tsx'
import type { LoadedHistory } from './store.ts'

/** Closer than this to the top, the next older page loads. */
const LOAD_MARGIN_PX = 600
/** Closer than this to the bottom counts as reading the newest. */
const BOTTOM_MARGIN_PX = 48
/** A new run (name and avatar again) after this long a pause. */
const RUN_GAP_MS = 5 * 60_000

interface Anchor { height: number, top: number, firstSeq: number | undefined }

export function History ({ conversation, history, group, admin }: { conversation: string, history: LoadedHistory | undefined, group: boolean, admin: boolean }) {
  const controller = useController()
  const ref = useRef<HTMLDivElement>(null)
  const atBottom = useRef(true)
  const anchor = useRef<Anchor | undefined>(undefined)
  const lastSeq = useRef<number | undefined>(undefined)
  const [awayFromBottom, setAwayFromBottom] = useState(false)
  const messages = history?.messages ?? []
  const firstSeq = messages[0]?.seq
  const last = messages[messages.length - 1]
  const more = history?.more === true
  const loading = history?.loading !== false

  const loadOlder = (): void => {
    const el = ref.current
    if (el === null || !more || loading || anchor.current !== undefined) return
    anchor.current = { height: el.scrollHeight, top: el.scrollTop, firstSeq }
    void controller.loadOlder(conversation)
  }

  // Before the browser paints: an older page keeps what was on screen in place; a new message at the bottom stays in view.
  useLayoutEffect(() => {
    const el = ref.current
    if (el === null) return
    const kept = anchor.current
    const ownNew = last !== undefined && last.sender.own && last.seq !== lastSeq.current
    if (kept !== undefined && firstSeq !== kept.firstSeq) {
      el.scrollTop = el.scrollHeight - kept.height + kept.top
      anchor.current = undefined
    } else if (atBottom.current || ownNew) {
      el.scrollTop = el.scrollHeight
      atBottom.current = true
    }
    lastSeq.current = last?.seq
  }, [messages])

  useEffect(() => {
    const el = ref.current
    if (!loading && anchor.current !== undefined && anchor.current.firstSeq === firstSeq) anchor.current = undefined
    // A first page shorter than the screen gives nothing to scroll: load on until it fills it.
    if (el !== null && el.scrollHeight <= el.clientHeight + LOAD_MARGIN_PX / 2) loadOlder()
  }, [messages, loading, more])

  const onScroll = (): void => {
    const el = ref.current
    if (el === null) return
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < BOTTOM_MARGIN_PX
    setAwayFromBottom(!atBottom.current)
    if (el.scrollTop < LOAD_MARGIN_PX) loadOlder()
  }

  const toBottom = (): void => {
    const el = ref.current
    if (el !== null) el.scrollTo({ top: el.scrollHeight, behavior: 'smooth' })
  }

  const onQuote = (messageId: string): void => {
    const target = ref.current?.querySelector<HTMLElement>(`[data-message-id="${CSS.escape(messageId)}"]`)
    if (target === null || target === undefined) {
      controller.notify('info', 'The message it answers is further back: scroll up to load it.')
      return
    }
    target.scrollIntoView({ block: 'center', behavior: 'smooth' })
    target.classList.remove('msg--highlight')
    // Restarts the highlight's animation when the same quote is clicked twice.
    void target.offsetWidth
    target.classList.add('msg--highlight')
    target.addEventListener('animationend', () => { target.classList.remove('msg--highlight') }, { once: true })
  }

  const onReply = (message: HistoryMessage): void => {
    controller.setReplying(conversation, message)
    document.getElementById('composer-input')?.focus()
  }

  const onJoin = (invitation: string): void => { void controller.joinGroup(invitation) }

  return (
    <div class="history-wrap">
      <div class="history" ref={ref} onScroll={onScroll} role="log" aria-label="Messages" tabIndex={0}>
        <div class="history-top">
          {history?.error !== undefined
            ? <p class="history-note history-note--error" role="alert">{history.error}</p>
            : loading
              ? <p class="history-note"><span class="spinner" aria-hidden="true" /> Loading messages…</p>
              : !more && messages.length > 0 && <p class="history-note">This is the start of the conversation.</p>}
        </div>
        {history?.ready === true && messages.length === 0 && <p class="history-empty">No messages yet. Say hello!</p>}
        {messages.map((m, i) => {
          const previous = messages[i - 1]
          const newDay = previous === undefined || !sameDay(previous.sentAt, m.sentAt)
          const first = newDay || previous.sender.account !== m.sender.account || m.sentAt - previous.sentAt > RUN_GAP_MS
          return (
            <Fragment key={m.seq}>
              {newDay && <div class="day"><span>{dayLabel(m.sentAt)}</span></div>}
              <Message message={m} group={group} admin={admin} first={first} onReply={onReply} onQuote={onQuote} onJoin={onJoin} />
            </Fragment>
          )
        })}
      </div>
      {awayFromBottom && (
        <button type="button" class="to-bottom" onClick={toBottom} aria-label="Scroll to the newest messages">↓</button>
      )}
    </div>
  )
}
