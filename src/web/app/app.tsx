/** The page: the sidebar and the open conversation side by side (one at a time on a phone), with dialogs and notices over them. */
import { useEffect, useRef } from 'preact/hooks'
import { useController } from './app-context.ts'
import { displayName } from './format.ts'
import { Conversation } from './conversation.tsx'
import { Dialogs } from './dialogs.tsx'
import { ConnectionBar, Notices } from './notices.tsx'
import { Sidebar } from './sidebar.tsx'
import { useStore } from './store.ts'

function Welcome ({ name }: { name: string }) {
  return (
    <div class="welcome">
      <div class="welcome-mark" aria-hidden="true" />
      <h1>Hello, <bdi>{name}</bdi></h1>
      <p>Choose a conversation, or add a contact with their link. Messages go from peer to peer, end-to-end encrypted.</p>
    </div>
  )
}

export function App () {
  const controller = useController()
  const state = useStore(controller.store)
  const everConnected = useRef(false)
  if (state.self !== undefined) everConnected.current = true
  const open = state.open === undefined ? undefined : state.conversations.find((c) => c.id === state.open)

  useEffect(() => {
    document.title = open === undefined ? 'bertybot' : `${open.name} · bertybot`
  }, [open?.name])

  if (state.self === undefined) {
    return (
      <div class="loading-screen">
        <ConnectionBar status={state.connection} everConnected={false} />
        <p><span class="spinner" aria-hidden="true" /> Connecting to bertybot web…</p>
        <Notices notices={state.notices} />
      </div>
    )
  }
  return (
    <div class={`app${state.open === undefined ? '' : ' app--open'}`}>
      <Sidebar state={state} />
      <main class="main">
        {open !== undefined
          ? <Conversation conversation={open} history={state.histories[open.id]} />
          : state.open !== undefined
            ? <p class="main-note"><span class="spinner" aria-hidden="true" /> Opening the conversation…</p>
            : <Welcome name={displayName(state.self.name, 'there')} />}
      </main>
      <div class="overlay">
        <ConnectionBar status={state.connection} everConnected={everConnected.current} />
      </div>
      <Notices notices={state.notices} />
      <Dialogs dialog={state.dialog} state={state} />
    </div>
  )
}
