/** Contact requests waiting for an answer, each with Accept and Decline. */
import { useState } from 'preact/hooks'
import type { ContactRequest } from '../api.ts'
import { useController } from './app-context.ts'
import { Avatar } from './avatar.tsx'
import { displayName } from './format.ts'

function Request ({ request }: { request: ContactRequest }) {
  const controller = useController()
  const [busy, setBusy] = useState(false)
  const name = displayName(request.name)
  const answer = (accept: boolean): void => {
    setBusy(true)
    void controller.answerRequest(request.account, accept).finally(() => { setBusy(false) })
  }
  return (
    <li class="request">
      <Avatar id={request.account} name={name} />
      <div class="request-body">
        <div class="request-name" dir="auto">{name}</div>
        {request.message !== undefined && request.message !== '' && <div class="request-message" dir="auto">{request.message}</div>}
        <div class="request-actions">
          <button type="button" class="button button--small" disabled={busy} onClick={() => { answer(true) }}>Accept</button>
          <button type="button" class="button button--small button--quiet" disabled={busy} onClick={() => { answer(false) }}>Decline</button>
        </div>
      </div>
    </li>
  )
}

export function Requests ({ requests }: { requests: ContactRequest[] }) {
  if (requests.length === 0) return null
  return (
    <section class="requests" aria-labelledby="requests-title">
      <h2 id="requests-title" class="section-title">Contact requests <span class="count">{requests.length}</span></h2>
      <ul>{requests.map((r) => <Request key={r.account} request={r} />)}</ul>
    </section>
  )
}
