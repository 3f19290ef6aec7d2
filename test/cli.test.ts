import { execFile, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { decodeContactLink, decodeReplicaLink } from '../src/protocol/index.ts'
import { tempDir } from './helpers/temp.ts'
import { waitFor } from './helpers/wait.ts'

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

  it('offers --mdns, off unless given, on the commands that keep running, not on id', async () => {
    // chat, web and replica share one description of the option; the bridge has its own.
    const [chat, bridge, id] = await Promise.all([bertybot('chat', '--help'), bertybot('bridge', '--help'), bertybot('id', '--mdns')])
    for (const help of [chat, bridge]) expect(help.stdout).toMatch(/^ {2}--mdns {2,}.*\n(?:.*\n)*?.*off/im)
    expect(id.code).toBe(2)
  })

  it('refuses an unknown command or option with exit code 2 and a message', async () => {
    const unknown = await bertybot('frobnicate')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/)
    const option = await bertybot('id', '--nope')
    expect(option.code).toBe(2)
    expect(option.stderr).toBe('bertybot: unknown option --nope for "bertybot id". "bertybot id --help" lists the options.\n')
    expect((await bertybot('id', '--data')).stderr).toMatch(/--data needs a value/)
  })

  it('names every bad address option, with its value, before starting anything', async () => {
    const bad = await bertybot('id', '--listen', 'garbage', '--bootstrap', '/ip4/127.0.0.1/tcp/1', '--data', '/nonexistent/never-made')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--listen garbage: not a multiaddr/)
    expect(bad.stderr).toMatch(/--bootstrap \/ip4\/127.0.0.1\/tcp\/1: needs a \/p2p\/<peer id> part/)
  })

  it('prints the contact link of the data directory\'s account, the same account each time', async () => {
    const dir = await tempDir('cli')
    const first = await bertybot('id', '--data', dir)
    const second = await bertybot('id', '--data', dir)
    expect(first.code).toBe(0)
    const link = (out: string): ReturnType<typeof decodeContactLink> => decodeContactLink(/^(bertybot:\/\/contact\/\S+)$/m.exec(out)?.[1] ?? '')
    expect(link(second.stdout).accountKey).toEqual(link(first.stdout).accountKey)
    expect(link(first.stdout).hints[0]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)
  })

  it('runs a replica that prints its link, until asked to stop', async () => {
    const replica = spawn(process.execPath, ['--conditions=bertybot-source', cli, 'replica', '--data', await tempDir('replica')], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    replica.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
    const link = await waitFor<string>('the replica to print its link', (done) => {
      const check = (): void => { const m = /^link (bertybot:\/\/replica\/\S+)$/m.exec(out); if (m !== null) done(m[1] as string) }
      replica.stdout.on('data', check)
      return () => { replica.stdout.off('data', check) }
    })
    expect(decodeReplicaLink(link).hints.length).toBeGreaterThan(0)
    const exited = new Promise((resolve) => replica.on('exit', resolve))
    replica.kill('SIGTERM')
    expect(await exited).toBe(0)
  })

  it('serves the web client on the same address after a restart, and refuses a bad --port', async () => {
    const bad = await bertybot('web', '--port', '99999')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toBe('bertybot: --port 99999: not a port (1 to 65535)\n')
    const dataDir = await tempDir('web')
    const start = async (): Promise<{ url: string, stop: () => Promise<unknown> }> => {
      const web = spawn(process.execPath, ['--conditions=bertybot-source', cli, 'web', '--name', 'alice', '--data', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      web.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
      const exited = new Promise((resolve) => web.on('exit', resolve))
      const url = await waitFor<string>('bertybot web to print its link', (done) => {
        const check = (): void => { const m = /^(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)$/m.exec(out); if (m !== null) done(m[1] as string) }
        web.stdout.on('data', check)
        return () => { web.stdout.off('data', check) }
      })
      return { url, stop: async () => { web.kill('SIGTERM'); return await exited } }
    }
    const first = await start()
    const answer = await fetch(first.url, { redirect: 'manual' })
    expect(answer.status).toBe(303)
    expect(answer.headers.get('set-cookie')).toMatch(/^bertybot-\d+=[\w-]+; HttpOnly; SameSite=Strict/)
    expect(await first.stop()).toBe(0)
    const second = await start()
    expect(second.url).toBe(first.url)
    expect(await second.stop()).toBe(0)
  })
})
