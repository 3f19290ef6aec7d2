/** The accounts the person blocked, each with Unblock: part of the "Your link" dialog. */
import type { BlockedAccount } from '../api.ts'
import { useController } from './app-context.ts'
import { displayName } from './format.ts'
import { DialogError, useAction } from './modal.tsx'

export function BlockedList ({ blocked }: { blocked: BlockedAccount[] }) {
  const controller = useController()
  const { error, run } = useAction()
  return (
    <section class="blocked" aria-label="Blocked accounts">
      <h3 class="blocked-title">Blocked</h3>
      {blocked.length === 0 && <p class="dialog-text">Nobody. Block someone from the menu of one of their messages.</p>}
      {blocked.length > 0 && (
        <ul class="blocked-list">
          {blocked.map((b) => (
            <li key={b.account} class="blocked-item">
              <span class="blocked-name" dir="auto" title={b.account}>{displayName(b.name)}</span>
              <button type="button" class="button button--quiet" aria-label={`Unblock ${displayName(b.name)}`} onClick={() => { void run(async () => { await controller.setBlocked(b.account, b.name, false) }) }}>Unblock</button>
            </li>
          ))}
        </ul>
      )}
      <DialogError error={error} />
    </section>
  )
}
