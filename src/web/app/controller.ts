/**
 * What the page does: asks the server (hello on each new socket, history
 * pages, sends, reads), folds its answers and events into the store, and
 * turns failures into notices the person sees.
 */
import type { HistoryMessage, MethodName, Params, Result, ServerEvent } from '../api.ts'
import { CallError, Connection, apiUrl, type ConnectionStatus } from './connection.ts'
import { mergeMessages, sortConversations, upsertConversation } from './merge.ts'
import { Store, type DialogState, type LoadedHistory, type State } from './store.ts'

export const PAGE_SIZE = 50

export function errorText (err: unknown): string {
  if (err instanceof CallError) return err.message
  if (err instanceof Error) return err.message
  return String(err)
}

const emptyHistory: LoadedHistory = { messages: [], more: false, loading: true, ready: false }

export class Controller {
  readonly store: Store
  readonly #connection: Connection
  #nextNotice = 1
  /** Bumped for each conversation opened or socket opened: answers to older requests are dropped. */
  #generation = 0
  #reading = new Set<string>()
  /** Conversations that got new messages while their `read` was in flight: read again once it is done. */
  #readAgain = new Set<string>()

  constructor (store: Store, location: Location) {
    this.store = store
    this.#connection = new Connection(apiUrl(location), {
      event: (event) => { this.#event(event) },
      status: (status) => { this.#status(status) }
    })
  }

  start (): void {
    this.#connection.start()
    document.addEventListener('visibilitychange', () => { this.#readIfSeen() })
  }

  retryNow (): void {
    this.#connection.retryNow()
  }

  /** A call on behalf of a dialog: the dialog shows its error. */
  async call<M extends MethodName> (method: M, params: Params<M>): Promise<Result<M>> {
    return await this.#connection.call(method, params)
  }

  #set (change: (state: State) => Partial<State>): void {
    this.store.update((state) => ({ ...state, ...change(state) }))
  }

  notify (kind: 'error' | 'info', text: string): void {
    const id = this.#nextNotice++
    this.#set((s) => ({ notices: [...s.notices, { id, kind, text }] }))
  }

  dismiss (id: number): void {
    this.#set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }))
  }

  openDialog (dialog: DialogState | undefined): void {
    this.#set(() => ({ dialog }))
  }

  #status (status: ConnectionStatus): void {
    this.#set(() => ({ connection: status }))
    if (status.state === 'open') void this.#hello()
  }

  async #hello (): Promise<void> {
    const generation = ++this.#generation
    try {
      const hello = await this.#connection.call('hello', {})
      if (generation !== this.#generation) return
      this.#set(() => ({ self: hello.self, conversations: sortConversations(hello.conversations), requests: hello.requests, maxFileSize: hello.limits.maxFileSize }))
      // What arrived while the socket was down is in the server's history: load the open conversation again.
      const open = this.store.state.open
      await Promise.all([this.#loadBlocked(generation), ...(open === undefined ? [] : [this.#loadFirstPage(open)])])
    } catch (err) {
      this.notify('error', `Could not load your conversations: ${errorText(err)}`)
    }
  }

  #event (event: ServerEvent): void {
    switch (event.event) {
      case 'conversation':
        this.#set((s) => ({ conversations: upsertConversation(s.conversations, event.data) }))
        if (event.data.id === this.store.state.open && event.data.unread > 0) this.#readIfSeen()
        break
      case 'requests':
        this.#set(() => ({ requests: event.data }))
        break
      case 'message':
        this.#message(event.data)
        break
    }
  }

  #message (message: HistoryMessage): void {
    const loaded = this.store.state.histories[message.conversation]
    // A conversation not loaded gets its messages when it is opened; its summary says what is new.
    if (loaded === undefined || !loaded.ready) return
    this.#setHistory(message.conversation, (h) => ({ ...h, messages: mergeMessages(h.messages, [message]) }))
    if (!message.sender.own && message.conversation === this.store.state.open) this.#readIfSeen()
  }

  #setHistory (id: string, change: (history: LoadedHistory) => LoadedHistory): void {
    this.#set((s) => ({ histories: { ...s.histories, [id]: change(s.histories[id] ?? emptyHistory) } }))
  }

  open (id: string | undefined): void {
    this.#set(() => ({ open: id }))
    if (id === undefined) return
    void this.#loadFirstPage(id)
  }

  async #loadFirstPage (id: string): Promise<void> {
    const generation = this.#generation
    this.#setHistory(id, (h) => ({ ...h, loading: true, error: undefined }))
    try {
      const page = await this.#connection.call('history', { conversation: id, limit: PAGE_SIZE })
      if (generation !== this.#generation) return
      // Replaces what was loaded: the newest page is the truth, older pages load again on scrolling.
      this.#setHistory(id, () => ({ messages: mergeMessages([], page.messages), more: page.more, loading: false, ready: true }))
      this.#readIfSeen()
    } catch (err) {
      this.#setHistory(id, (h) => ({ ...h, loading: false, error: `Could not load the messages: ${errorText(err)}` }))
    }
  }

  /** The page before the oldest loaded message; nothing if one is loading or there is none. */
  async loadOlder (id: string): Promise<void> {
    const history = this.store.state.histories[id]
    const oldest = history?.messages[0]
    if (history === undefined || !history.ready || history.loading || !history.more || oldest === undefined) return
    const generation = this.#generation
    this.#setHistory(id, (h) => ({ ...h, loading: true, error: undefined }))
    try {
      const page = await this.#connection.call('history', { conversation: id, before: oldest.seq, limit: PAGE_SIZE })
      if (generation !== this.#generation) return
      this.#setHistory(id, (h) => ({ ...h, messages: mergeMessages(h.messages, page.messages), more: page.more, loading: false }))
    } catch (err) {
      this.#setHistory(id, (h) => ({ ...h, loading: false, error: `Could not load older messages: ${errorText(err)}` }))
    }
  }

  setReplying (conversation: string, message: HistoryMessage | undefined): void {
    this.#set((s) => ({ replying: { ...s.replying, [conversation]: message } }))
  }

  setEditing (conversation: string, message: HistoryMessage | undefined): void {
    this.#set((s) => ({ editing: { ...s.editing, [conversation]: message }, replying: message === undefined ? s.replying : { ...s.replying, [conversation]: undefined } }))
  }

  /** A message the server changed or wrote for us: shown at once, before its event. */
  shown (message: HistoryMessage): void {
    const loaded = this.store.state.histories[message.conversation]
    if (loaded?.ready === true) this.#setHistory(message.conversation, (h) => ({ ...h, messages: mergeMessages(h.messages, [message]) }))
  }

  /** Reacts, edits, deletes or presses; a failure is told in a notice. */
  async act<M extends 'react' | 'edit' | 'delete' | 'press'> (method: M, params: Params<M>, failure: string): Promise<boolean> {
    try {
      const { message } = await this.#connection.call(method, params) as { message: HistoryMessage }
      this.shown(message)
      return true
    } catch (err) {
      this.notify('error', `${failure}: ${errorText(err)}`)
      return false
    }
  }

  setUploading (conversation: string, change: (names: string[]) => string[]): void {
    this.#set((s) => ({ uploading: { ...s.uploading, [conversation]: change(s.uploading[conversation] ?? []) } }))
  }

  /** Sends; resolves true once the server took it, false (with a notice) if it did not. */
  async send (conversation: string, text: string, replyTo: HistoryMessage | undefined): Promise<boolean> {
    try {
      const { message } = await this.#connection.call('send', { conversation, text, replyTo: replyTo?.messageId })
      this.shown(message)
      this.setReplying(conversation, undefined)
      return true
    } catch (err) {
      this.notify('error', `Your message was not sent: ${errorText(err)}`)
      return false
    }
  }

  /** Tells the server the open conversation was seen, when the page is in front and it has unread messages. */
  #readIfSeen (): void {
    const { open, conversations } = this.store.state
    if (open === undefined || document.visibilityState !== 'visible') return
    const summary = conversations.find((c) => c.id === open)
    if (summary !== undefined && summary.unread === 0) return
    if (this.#reading.has(open)) {
      this.#readAgain.add(open)
      return
    }
    this.#reading.add(open)
    this.#set((s) => ({ conversations: s.conversations.map((c) => c.id === open ? { ...c, unread: 0 } : c) }))
    this.#connection.call('read', { conversation: open })
      .catch((err: unknown) => { console.warn(`could not mark ${open} as read`, err) })
      .finally(() => {
        this.#reading.delete(open)
        if (this.#readAgain.delete(open)) this.#readIfSeen()
      })
  }

  async #loadBlocked (generation: number): Promise<void> {
    const { blocked } = await this.#connection.call('blocked', {})
    if (generation === this.#generation) this.#set(() => ({ blocked }))
  }

  /** Blocks or unblocks an account; the list comes back with the answer. Failures are the caller's to show. */
  async setBlocked (account: string, name: string, block: boolean): Promise<void> {
    const { blocked } = block ? await this.#connection.call('block', { account, name }) : await this.#connection.call('unblock', { account })
    this.#set(() => ({ blocked }))
  }

  async answerRequest (account: string, accept: boolean): Promise<void> {
    try {
      const { conversation } = await this.#connection.call('answerRequest', { account, accept })
      if (accept && conversation !== undefined) this.open(conversation)
    } catch (err) {
      this.notify('error', `Could not ${accept ? 'accept' : 'decline'} the request: ${errorText(err)}`)
    }
  }

  async joinGroup (invitation: string): Promise<void> {
    try {
      const { conversation } = await this.#connection.call('joinGroup', { invitation })
      this.open(conversation)
    } catch (err) {
      this.notify('error', `Could not join the group: ${errorText(err)}`)
    }
  }
}
