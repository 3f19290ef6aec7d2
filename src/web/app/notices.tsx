/** What the person must know: the connection when it is down, and errors and confirmations, each dismissable. */
import { useEffect, useState } from 'preact/hooks'
import { useController } from './app-context.ts'
import type { ConnectionStatus } from './connection.ts'
import { CloseIcon } from './icons.tsx'
import type { Notice } from './store.ts'

/** Confirmations go by themselves; errors stay until dismissed. */
const INFO_MS = 6000

function Countdown ({ until }: { until: number }) {
  const [now, setNow] = useState(Date.now())
  useEffect(() => {
    const timer = setInterval(() => { setNow(Date.now()) }, 500)
    return () => { clearInterval(timer) }
  }, [until])
  const seconds = Math.max(0, Math.ceil((until - now) / 1000))
  return <>{seconds === 0 ? 'now' : `in ${seconds} s`}</>
}

export function ConnectionBar ({ status, everConnected }: { status: ConnectionStatus, everConnected: boolean }) {
  const controller = useController()
  if (status.state === 'open' || (status.state === 'connecting' && status.attempt === 0)) return null
  return (
    <div class="connection-bar" role="status">
      <span class="connection-dot" aria-hidden="true" />
      <span>
        {everConnected ? 'Connection to bertybot web lost.' : 'Cannot reach bertybot web.'}{' '}
        {status.state === 'waiting' ? <>Trying again <Countdown until={status.retryAt} />.</> : 'Connecting…'}
        {status.attempt >= 3 && ' If you restarted it, open the new link it printed.'}
      </span>
      {status.state === 'waiting' && <button type="button" class="button button--small" onClick={() => { controller.retryNow() }}>Retry now</button>}
    </div>
  )
}

function NoticeItem ({ notice }: { notice: Notice }) {
  const controller = useController()
  useEffect(() => {
    if (notice.kind !== 'info') return
    const timer = setTimeout(() => { controller.dismiss(notice.id) }, INFO_MS)
    return () => { clearTimeout(timer) }
  }, [notice.id])
  return (
    <div class={`notice notice--${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'}>
      <span class="notice-text">{notice.text}</span>
      <button type="button" class="icon-button" aria-label="Dismiss" onClick={() => { controller.dismiss(notice.id) }}><CloseIcon /></button>
    </div>
  )
}

export function Notices ({ notices }: { notices: Notice[] }) {
  if (notices.length === 0) return null
  return <div class="toasts">{notices.map((n) => <NoticeItem key={n.id} notice={n} />)}</div>
}
