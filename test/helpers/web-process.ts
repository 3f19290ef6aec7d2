/**
 * `bertybot web` in a process of its own, as a person starts it: `node
 * src/cli/main.ts web --data <dir> --name <name>`. The link to open (with its
 * access token) is read from stdout. Stopped with SIGTERM, as Ctrl-C would.
 */
import { fileURLToPath } from 'node:url'
import { BotProcess, type Exit } from './bot-process.ts'

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const LINK = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+)\n/

export class WebProcess {
  readonly process: BotProcess
  readonly url: string

  private constructor (process: BotProcess, url: string) {
    this.process = process
    this.url = url
  }

  /** Starts it and waits for the link it prints; fails with its stderr if it exits first. */
  static async start (options: { dataDir: string, cwd: string, name?: string, args?: string[] }, timeoutMs = 90_000): Promise<WebProcess> {
    const args = ['web', '--data', options.dataDir, ...(options.name === undefined ? [] : ['--name', options.name]), ...(options.args ?? [])]
    const child = new BotProcess({ cwd: options.cwd, env: {}, entry: CLI, args })
    const url = await child.until('bertybot web to print its link', () => {
      const match = LINK.exec(child.stdout)
      if (match?.[1] !== undefined) return match[1]
      if (child.exit !== undefined) throw new Error(`bertybot web exited (${child.exit.code ?? child.exit.signal}) before it printed its link`)
      return undefined
    }, timeoutMs)
    return new WebProcess(child, url)
  }

  /** SIGTERM, and the exit it led to. */
  async stop (timeoutMs = 30_000): Promise<Exit> {
    this.process.signal('SIGTERM')
    return await this.process.exitWithin(timeoutMs)
  }
}
