import { Writable } from 'node:stream'
import { createLogger, type Logger } from '../../src/protocol/logger.ts'
import { waitFor } from './wait.ts'

export interface LogLine {
  level: number
  msg: string
  ns?: string
  [key: string]: unknown
}

/** A logger that keeps its JSON lines in memory, so a test can wait for one. */
export class LogCapture {
  readonly lines: LogLine[] = []
  readonly logger: Logger
  readonly #waiters = new Set<() => void>()

  constructor (level: 'warn' | 'info' | 'debug' = 'warn') {
    const stream = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        for (const text of chunk.toString('utf8').split('\n')) {
          if (text.trim() === '') continue
          this.lines.push(JSON.parse(text) as LogLine)
        }
        for (const wake of this.#waiters) wake()
        callback()
      }
    })
    this.logger = createLogger({ level, format: 'json', destination: stream })
  }

  find (predicate: (line: LogLine) => boolean): LogLine[] {
    return this.lines.filter(predicate)
  }

  async waitForLine (what: string, predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine> {
    return await waitFor(what, (done) => {
      const check = (): void => {
        const line = this.lines.find(predicate)
        if (line !== undefined) done(line)
      }
      this.#waiters.add(check)
      check()
      return () => { this.#waiters.delete(check) }
    }, timeoutMs)
  }
}
