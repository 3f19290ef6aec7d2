/**
 * What each entry point of the package loads: a bot that imports `bertybot`
 * carries none of the alert bridge (`bertybot/bridge`): not its modules, not
 * Fastify's rate limiter, not the Alertmanager client. Each import runs in a
 * fresh Node process that records every module it resolves.
 */
import { execFile } from 'node:child_process'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..')

const RECORD_RESOLVED = `
import { registerHooks } from 'node:module'
const seen = []
registerHooks({ resolve (specifier, context, next) { const found = next(specifier, context); seen.push(found.url); return found } })
await import(process.argv[1])
process.stdout.write(JSON.stringify(seen))
`

/** The URLs of every module that importing `specifier` (from the project) resolves. */
async function loadedBy (specifier: string): Promise<string[]> {
  const { stdout } = await run(process.execPath, ['--conditions=bertybot-source', '--input-type=module', '-e', RECORD_RESOLVED, specifier], { cwd: ROOT, timeout: 60_000 })
  return JSON.parse(stdout) as string[]
}

const isBridge = (url: string): boolean => url.includes('/src/bridge/')
const isRateLimiter = (url: string): boolean => url.includes('/node_modules/@fastify/rate-limit/')

describe('the package\'s entry points', () => {
  it('bertybot loads nothing of the bridge; bertybot/bridge loads it, with its rate limiter', async () => {
    const core = await loadedBy('bertybot')
    expect(core.some((url) => url.includes('/src/framework/index.ts'))).toBe(true)
    expect(core.filter(isBridge)).toEqual([])
    expect(core.filter(isRateLimiter)).toEqual([])

    // The same check finds them where they are.
    const bridge = await loadedBy('bertybot/bridge')
    expect(bridge.some(isBridge)).toBe(true)
    expect(bridge.some(isRateLimiter)).toBe(true)
  }, 120_000)
})
