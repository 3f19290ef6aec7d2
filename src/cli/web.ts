/**
 * `bertybot web`: the peer `bertybot chat` runs, with the chat client in a
 * browser instead of the terminal. It prints the link to open (with the
 * access token) and runs until stopped.
 */
import { spawn } from 'node:child_process'
import { ChatClient } from '../client/index.ts'
import type { Logger, Peer } from '../protocol/index.ts'
import { newToken, readWebSettings, startWebServer, WebServerError, writeWebSettings, type WebServer } from '../web/index.ts'

export interface WebCommandOptions {
  peer: Peer
  dataDir: string
  /** A port asked for; otherwise the one kept from the last start, or a new one. */
  port: number | undefined
  open: boolean
  logger: Logger
  output: NodeJS.WritableStream
  /** Resolves when the command is asked to stop. */
  stopped: Promise<void>
}

export async function runWeb (options: WebCommandOptions): Promise<void> {
  const { peer, dataDir, logger, output } = options
  const client = await ChatClient.open({ peer, dataDir, logger })
  try {
    const server = await listen(options, client)
    output.write(`bertybot web: you are ${peer.displayName ?? 'unnamed (set a name with --name)'}. Open this link in your browser (it carries your access key; keep it to yourself):\n${server.url}\n`)
    if (options.open) openInBrowser(server.url, output)
    await options.stopped
    await server.stop()
  } finally {
    await client.close()
  }
}

/** Listens on the kept port with the kept token; a port now taken gives way to a new one, with a warning. */
async function listen (options: WebCommandOptions, client: ChatClient): Promise<WebServer> {
  const kept = await readWebSettings(options.dataDir, options.logger)
  const token = kept?.token ?? newToken()
  const port = options.port ?? kept?.port ?? 0
  let server: WebServer
  try {
    server = await startWebServer({ client, port, token, logger: options.logger })
  } catch (err) {
    if (!(err instanceof WebServerError) || options.port !== undefined || port === 0) throw err
    options.logger.warn({ port }, 'the web client\'s port from last time is taken: listening on a new one (pages open on the old address must be opened again)')
    server = await startWebServer({ client, port: 0, token, logger: options.logger })
  }
  await writeWebSettings(options.dataDir, { port: server.port, token })
  return server
}

/** `--open`: the desktop's opener, where there is one; otherwise the link printed above is the way. */
function openInBrowser (url: string, output: NodeJS.WritableStream): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open'
  const child = spawn(opener, [url], { stdio: 'ignore', detached: true })
  child.on('error', () => { output.write(`(could not start ${opener} to open a browser: open the link above yourself)\n`) })
  child.unref()
}
