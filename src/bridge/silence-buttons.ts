/**
 * The buttons under an alert message, when the bridge can talk to an
 * Alertmanager: "Silence 1h" and "Silence 1d". A press silences the
 * message's alerts as `/silence 1h` answering it would (`alert-commands.ts`).
 */
import type { ButtonRows } from '../framework/index.ts'

export const SILENCE_BUTTONS: ButtonRows = [[
  { label: 'Silence 1h', payload: 'bridge:silence:1h' },
  { label: 'Silence 1d', payload: 'bridge:silence:1d' }
]]

/** A press of one of them; the duration is its first group. */
export const SILENCE_PRESS = /^bridge:silence:(1h|1d)$/
