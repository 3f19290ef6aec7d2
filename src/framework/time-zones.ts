/**
 * IANA time zones, checked against the zone database Node ships (through
 * Intl): one check for the configuration, schedules and bots.
 */

/** True for a time zone this Node knows (`Europe/Paris`, `UTC`). */
export function isTimeZone (name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name })
    return true
  } catch {
    return false
  }
}

/** What to tell someone who gave `name` as a time zone. */
export function notATimeZone (name: string): string {
  return `"${name}" is not a time zone (try Europe/Paris or UTC)`
}
