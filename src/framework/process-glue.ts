/**
 * What ties a running bot to its process: stopping cleanly on SIGINT and
 * SIGTERM, and printing its contact link (with a QR code on a terminal) for
 * whoever started it. Apart from the bot, so that a bot embedded in another
 * program can leave both to that program (`handleSignals: false`, `printLink: false`).
 */
import QRCode from 'qrcode'

/** Calls `stop` on the first SIGINT or SIGTERM; returns what removes the handlers. */
export function stopOnSignals (stop: () => Promise<void>): () => void {
  const onSignal = (): void => { void stop() }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  return () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** Prints the bot's contact link on stdout, after its QR code when stdout is a terminal. */
export async function printContactLink (name: string | undefined, link: string): Promise<void> {
  if (process.stdout.isTTY) process.stdout.write(await QRCode.toString(link, { type: 'terminal', small: true }))
  process.stdout.write(`${name ?? 'bot'} is running. Its contact link:\n${link}\n`)
}
