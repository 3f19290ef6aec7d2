/**
 * A program run in a real pseudo-terminal (util-linux `script`), driven as a
 * person would: type lines, press keys, wait for what it prints.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { afterAll } from 'vitest'
import { waitFor, DEFAULT_TIMEOUT_MS } from './wait.ts'

const running = new Set<Terminal>()

function shellQuote (arg: string): string {
  return `'${arg.replaceAll("'", "'\\''")}'`
}

export class Terminal {
  readonly child: ChildProcess
  /** Everything printed, with terminal escape sequences and carriage returns removed. */
  text = ''
  /** Everything printed, as the terminal got it (escape sequences included). */
  raw = ''
  readonly exited: Promise<number | null>
  readonly #waiters = new Set<() => void>()

  constructor (command: string[], env: NodeJS.ProcessEnv = {}) {
    const line = `stty cols 500 rows 60; exec ${command.map(shellQuote).join(' ')}`
    this.child = spawn('script', ['-qfec', line, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } })
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.raw += chunk.toString('utf8')
      // eslint-disable-next-line no-control-regex
      this.text += chunk.toString('utf8').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replaceAll('\r', '')
      for (const wake of this.#waiters) wake()
    })
    this.exited = new Promise((resolve) => { this.child.on('exit', (code) => { running.delete(this); resolve(code) }) })
    running.add(this)
  }

  /** Types a line and presses Enter. */
  type (line: string): void {
    this.child.stdin?.write(line + '\r')
  }

  /** Sends raw keys (`\x03` is Ctrl-C). */
  press (keys: string): void {
    this.child.stdin?.write(keys)
  }

  /** Waits until the output matches `pattern` (after `from`, an offset in `text`); returns the match. */
  async waitFor (pattern: RegExp, from = 0, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RegExpMatchArray> {
    return await waitFor(`the terminal to show ${String(pattern)}`, (done) => {
      const check = (): void => {
        const match = this.text.slice(from).match(pattern)
        if (match !== null) done(match)
      }
      this.#waiters.add(check)
      check()
      return () => { this.#waiters.delete(check) }
    }, timeoutMs)
  }
}

afterAll(async () => {
  for (const terminal of running) terminal.child.kill('SIGKILL')
})
