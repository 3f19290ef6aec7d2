/** The page's icons: drawn here, so nothing is fetched. Each is decoration next to a text or an aria-label. */
import type { ComponentChildren } from 'preact'

function Icon ({ children, class: extra }: { children: ComponentChildren, class?: string }) {
  return (
    <svg class={`icon${extra === undefined ? '' : ` ${extra}`}`} viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false"
      fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
      {children}
    </svg>
  )
}

export const AddContactIcon = () => <Icon><circle cx="9" cy="8" r="4" /><path d="M2 21v-1a6 6 0 0 1 6-6h2a6 6 0 0 1 6 6v1" /><path d="M19 8v6M16 11h6" /></Icon>
export const GroupIcon = () => <Icon><circle cx="9" cy="8" r="3.5" /><path d="M2.5 20v-.5A5.5 5.5 0 0 1 8 14h2a5.5 5.5 0 0 1 5.5 5.5v.5" /><path d="M16 4.5a3.5 3.5 0 0 1 0 7M18 14a5 5 0 0 1 3.5 5v1" /></Icon>
export const JoinIcon = () => <Icon><path d="M10 14a4.5 4.5 0 0 0 6.4 0l3.2-3.2a4.5 4.5 0 0 0-6.4-6.4L12 5.6" /><path d="M14 10a4.5 4.5 0 0 0-6.4 0l-3.2 3.2a4.5 4.5 0 0 0 6.4 6.4l1.2-1.2" /></Icon>
export const QrIcon = () => <Icon><rect x="3" y="3" width="7" height="7" rx="1" /><rect x="14" y="3" width="7" height="7" rx="1" /><rect x="3" y="14" width="7" height="7" rx="1" /><path d="M14 14h3v3h-3zM20 14v.01M14 20h.01M17 20h4v-3" /></Icon>
export const ReplyIcon = () => <Icon><path d="M9 14 4 9l5-5" /><path d="M4 9h10a6 6 0 0 1 6 6v5" /></Icon>
export const BackIcon = () => <Icon><path d="m15 18-6-6 6-6" /></Icon>
export const CloseIcon = () => <Icon><path d="M18 6 6 18M6 6l12 12" /></Icon>
export const CopyIcon = () => <Icon><rect x="9" y="9" width="12" height="12" rx="2" /><path d="M5 15H4a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1h10a1 1 0 0 1 1 1v1" /></Icon>
export const SendIcon = () => <Icon><path d="M4 12 20 4l-5 16-3.5-6.5z" /><path d="M11.5 13.5 20 4" /></Icon>
export const ReplicaIcon = () => <Icon><rect x="3" y="4" width="18" height="6" rx="1.5" /><rect x="3" y="14" width="18" height="6" rx="1.5" /><path d="M7 7h.01M7 17h.01" /></Icon>
export const InviteIcon = () => <Icon><path d="M4 6h16v12H4z" /><path d="m4 7 8 6 8-6" /></Icon>
export const LinkIcon = () => <Icon><path d="M9 15 15 9" /><path d="M11 6.5 12.5 5a4.2 4.2 0 0 1 6 6L17 12.5M13 17.5 11.5 19a4.2 4.2 0 0 1-6-6L7 11.5" /></Icon>

/** Delivery states: drawn small, in the message's meta line. */
export const ClockIcon = () => <Icon class="icon--state"><circle cx="12" cy="12" r="8.5" /><path d="M12 7.5V12l3 2" /></Icon>
export const CheckIcon = () => <Icon class="icon--state"><path d="m5 12.5 4.5 4.5L19 7.5" /></Icon>
export const DoubleCheckIcon = () => <Icon class="icon--state"><path d="m2 12.5 4.5 4.5L16 7.5" /><path d="m11.5 16 1 1L22 7.5" /></Icon>
export const PendingIcon = () => <Icon class="icon--state"><circle cx="12" cy="12" r="8.5" stroke-dasharray="3 3" /></Icon>
export const FailedIcon = () => <Icon class="icon--state"><circle cx="12" cy="12" r="8.5" /><path d="M12 7.5v5.5M12 16.5v.01" /></Icon>

/** Message actions and attachments. */
export const ReactIcon = () => <Icon><circle cx="12" cy="12" r="8.5" /><path d="M8.5 14a4 4 0 0 0 7 0" /><path d="M9 9.5h.01M15 9.5h.01" /></Icon>
export const MoreIcon = () => <Icon><path d="M5 12h.01M12 12h.01M19 12h.01" /></Icon>
export const AttachIcon = () => <Icon><path d="m20 11.5-8.2 8.2a5 5 0 0 1-7.1-7.1l8.5-8.5a3.4 3.4 0 0 1 4.8 4.8l-8.4 8.4a1.7 1.7 0 0 1-2.4-2.4l7.8-7.8" /></Icon>
export const FileIcon = () => <Icon><path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z" /><path d="M14 3v5h5" /></Icon>
export const EditIcon = () => <Icon><path d="M4 20h4L19 9l-4-4L4 16z" /><path d="m13.5 6.5 4 4" /></Icon>
