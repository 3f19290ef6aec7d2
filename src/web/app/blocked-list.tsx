/** The accounts the person blocked, each with Unblock: part of the "Your link" dialog. */
import { useEffect, useState } from 'preact/hooks'
import type { BlockedAccount } from '../api.ts'
import { useController } from './app-context.ts'
import { errorText } from './controller.ts'
import { displayName } from './format.ts'
import { DialogError } from './modal.tsx'

export function BlockedList () {
  const controller = useController()
  const [blocked, setBlocked] = useState<BlockedAccount[] | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  useEffect(() => {
    controller.call('blocked', {}).then((r) => { setBlocked(r.blocked) }, (err: unknown) => { setError(errorText(err)) })
  }, [])
  const unblock = async (account: string): Promise<void> => {
    setError(undefined)
    try {
      setBlocked((await controller.call('unblock', { account })).blocked)
    } catch (err) {
      setError(errorText(err))
    }
  }
  return (
    <section class="blocked" aria-label="Blocked accounts">
      <h3 class="blocked-title">Blocked</h3>
      {blocked !== undefined && blocked.length === 0 && <p class="dialog-text">Nobody. Block someone from the menu of one of their messages.</p>}
      {blocked !== undefined && blocked.length > 0 && (
        <ul class="blocked-list">
          {blocked.map((b) => (
            <li key={b.account} class="blocked-item">
              <span class="blocked-name" dir="auto" title={b.account}>{displayName(b.name)}</span>
              <button type="button" class="button button--quiet" aria-label={`Unblock ${displayName(b.name)}`} onClick={() => { void unblock(b.account) }}>Unblock</button>
            </li>
          ))}
        </ul>
      )}
      <DialogError error={error} />
    </section>
  )
}
