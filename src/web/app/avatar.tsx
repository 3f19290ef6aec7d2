/** A coloured circle with initials; the colour comes from the id, so a person keeps theirs across conversations. */
import { colorClass, initials } from './format.ts'

export function Avatar ({ id, name, size = 'md' }: { id: string, name: string, size?: 'sm' | 'md' | 'lg' }) {
  return <span class={`avatar avatar--${size} ${colorClass(id)}`} aria-hidden="true">{initials(name)}</span>
}
