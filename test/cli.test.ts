import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { tempDir } from './helpers/temp.ts'

const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))

async function bertybot (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--conditions=bertybot-source', cli, ...args], { env: { ...process.env, BERTYBOT_DATA: '' } })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('the bertybot command', () => {
  it('explains itself', async () => {
    const help = await bertybot('--help')
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/Usage: bertybot <command>/)
    expect((await bertybot('id', '--help')).stdout).toMatch(/Usage: bertybot id/)
  })

  it('refuses an unknown command or option with exit code 2 and a message', async () => {
    const unknown = await bertybot('frobnicate')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/)
    expect((await bertybot('id', '--nope')).code).toBe(2)
  })

  it('prints the same account id for the same data directory', async () => {
    const dir = await tempDir('cli')
    const first = await bertybot('id', '--data', dir)
    const second = await bertybot('id', '--data', dir)
    expect(first.code).toBe(0)
    const account = /^account (\S+)$/m.exec(first.stdout)?.[1]
    expect(account).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(second.stdout).toContain(`account ${account}`)
    expect(first.stdout).toMatch(/^listening \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//m)
  })
})
