/**
 * What the page shows, in one immutable value, and the hook that re-renders
 * a component when it changes. The controller is the only writer.
 */
import { useEffect, useReducer } from 'preact/hooks'
import type { BlockedAccount, ContactRequest, ConversationSummary, HistoryMessage, Self } from '../api.ts'
import type { ConnectionStatus } from './connection.ts'

/** The part of a conversation's history the page has loaded: the newest pages, oldest first. */
export interface LoadedHistory {
  messages: HistoryMessage[]
  /** Older messages exist on the server. */
  more: boolean
  loading: boolean
  /** The first page arrived. */
  ready: boolean
  error?: string
}

export interface Notice {
  id: number
  kind: 'error' | 'info'
  text: string
}

export type DialogState =
  | { kind: 'addContact' }
  | { kind: 'link' }
  | { kind: 'newGroup' }
  | { kind: 'joinGroup', invitation?: string }
  | { kind: 'invitation', conversation: string }
  | { kind: 'invite', conversation: string }
  | { kind: 'replica', conversation: string }
  | { kind: 'deleteMessage', message: HistoryMessage }
  | { kind: 'block', account: string, name: string }
  | { kind: 'image', conversation: string, seq: number, index: number, name: string }

export interface State {
  connection: ConnectionStatus
  /** Set by the first `hello`: until then the page has nothing to show. */
  self: Self | undefined
  conversations: ConversationSummary[]
  requests: ContactRequest[]
  /** The accounts blocked, the most recently blocked first. */
  blocked: BlockedAccount[]
  open: string | undefined
  histories: Record<string, LoadedHistory>
  /** The message the composer answers, per conversation. */
  replying: Record<string, HistoryMessage | undefined>
  /** Our message the composer edits, per conversation. */
  editing: Record<string, HistoryMessage | undefined>
  /** Files the person sends, per conversation, while they upload. */
  uploading: Record<string, string[] | undefined>
  /** The largest file the peer sends (from hello). */
  maxFileSize: number
  notices: Notice[]
  dialog: DialogState | undefined
}

export const initialState: State = {
  connection: { state: 'connecting', attempt: 0 },
  self: undefined,
  conversations: [],
  requests: [],
  blocked: [],
  open: undefined,
  histories: {},
  replying: {},
  editing: {},
  uploading: {},
  maxFileSize: 0,
  notices: [],
  dialog: undefined
}

export class Store {
  #state: State
  readonly #listeners = new Set<() => void>()

  constructor (state: State = initialState) {
    this.#state = state
  }

  get state (): State {
    return this.#state
  }

  update (change: (state: State) => State): void {
    this.#state = change(this.#state)
    for (const listener of this.#listeners) listener()
  }

  subscribe (listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }
}

/** The store's state, re-rendering the component on each change. */
export function useStore (store: Store): State {
  const [, changed] = useReducer((n: number) => n + 1, 0)
  useEffect(() => store.subscribe(() => { changed(undefined) }), [store])
  return store.state
}
