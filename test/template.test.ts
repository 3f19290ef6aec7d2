/**
 * `bertybot new`: the project it makes installs and passes its own tests,
 * against this repository's bertybot, as a user's would. The project's
 * `bertybot` dependency points here (`file:`), so it uses the built `dist/`:
 * the test builds it first, from the sources as they are now.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { tempDir } from './helpers/temp.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const cli = join(root, 'src', 'cli', 'main.ts')

interface Result { code: number | null, signal: NodeJS.Signals | null, output: string }

/** Process groups still running: killed after each test, so that nothing outlives it. */
const running = new Set<number>()

afterEach(() => {
  for (const pid of running) {
    try { process.kill(-pid, 'SIGKILL') } catch {}
  }
  running.clear()
})

/**
 * The environment of a child: this one's, without what the npm and vitest
 * running this test put in it (npm_config_*, VITEST_*...), with this Node first
 * in PATH so that `npm` runs on it too; no colours, for readable failures.
 */
function childEnv (): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|VITEST|BERTYBOT_)/i.test(key) || ['NODE_ENV', 'NODE_OPTIONS', 'TEST', 'FORCE_COLOR'].includes(key)) continue
    env[key] = value
  }
  env.NO_COLOR = '1'
  env.PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`
  return env
}

/**
 * Runs a command in its own process group, with its output (stdout and
 * stderr, interleaved) collected; after `timeoutMs` the whole group is killed.
 */
async function run (command: string, args: string[], options: { cwd: string, timeoutMs: number }): Promise<Result> {
  const child = spawn(command, args, { cwd: options.cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const pid = child.pid
  if (pid !== undefined) running.add(pid)
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  return await new Promise<Result>((resolve, reject) => {
    const timer = setTimeout(() => {
      if (pid !== undefined) {
        try { process.kill(-pid, 'SIGKILL') } catch {}
      }
    }, options.timeoutMs)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (pid !== undefined) {
        // Whatever the command left behind in its group goes with it.
        try { process.kill(-pid, 'SIGKILL') } catch {}
        running.delete(pid)
      }
      resolve({ code, signal, output: signal === null ? output : `${output}\n[killed by ${signal}: timed out after ${options.timeoutMs} ms?]` })
    })
  })
}

async function bertybot (args: string[], cwd = root): Promise<Result> {
  return await run(process.execPath, ['--conditions=bertybot-source', cli, ...args], { cwd, timeoutMs: 30_000 })
}

async function npm (args: string[], cwd: string, timeoutMs: number): Promise<Result> {
  return await run('npm', args, { cwd, timeoutMs })
}

const rootPackage = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
  version: string
  engines: Record<string, string>
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
}

describe('bertybot new', () => {
  it('makes a project that installs and passes its own tests', { timeout: 300_000 }, async () => {
    // The project resolves bertybot to this repository's dist/: build it from the current sources.
    const build = await run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, timeoutMs: 120_000 })
    expect(build.code, build.output).toBe(0)

    const dir = join(await tempDir('template'), 'dice-bot')
    const created = await bertybot(['new', dir, '--name', "Dice's bot"])
    expect(created.code, created.output).toBe(0)
    expect(created.output).toContain('npm install && npm test')
    expect(created.output).toContain('npm start')

    const files = await readdir(dir)
    expect(files).toEqual(expect.arrayContaining(['package.json', 'bot.ts', 'bot.test.ts', '.env.example', 'Dockerfile', 'README.md', '.gitignore']))
    expect(files).not.toContain('gitignore')
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
      name: string
      dependencies: Record<string, string>
      devDependencies: Record<string, string>
      allowScripts?: Record<string, boolean>
    }
    expect(pkg.name).toBe('dice-bot')
    expect(pkg.dependencies.bertybot).toBe(`^${rootPackage.version}`)
    expect(await readFile(join(dir, 'bot.ts'), 'utf8')).toContain("displayName: 'Dice\\'s bot'")
    const env = await readFile(join(dir, '.env.example'), 'utf8')
    for (const variable of ['DATA', 'NAME', 'LISTEN', 'BOOTSTRAP', 'REPLICAS', 'DHT', 'TIMEZONE', 'CONCURRENCY', 'LOG_LEVEL', 'LOG_FORMAT']) {
      expect(env).toMatch(new RegExp(`^BERTYBOT_${variable}=`, 'm'))
    }
    for (const file of files) expect(await readFile(join(dir, file), 'utf8'), `placeholders left in ${file}`).not.toMatch(/\{\{\w+\}\}/)

    // Depend on this repository instead of the registry; it is built above, so npm need not run its `prepare`.
    pkg.dependencies.bertybot = `file:${root}`
    pkg.allowScripts = { ...pkg.allowScripts, bertybot: false }
    await writeFile(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)

    const install = await npm(['install', '--prefer-offline', '--no-audit', '--no-fund'], dir, 180_000)
    expect(install.code, install.output).toBe(0)
    expect(existsSync(join(dir, 'node_modules', '.bin', 'node')), 'the project brings its own Node').toBe(true)

    // The installed command (dist/cli) finds the template too.
    const second = join(dirname(dir), 'second-bot')
    const fromDist = await run(process.execPath, [join(dir, 'node_modules', '.bin', 'bertybot'), 'new', second], { cwd: dir, timeoutMs: 30_000 })
    expect(fromDist.code, fromDist.output).toBe(0)
    expect(JSON.parse(await readFile(join(second, 'package.json'), 'utf8'))).toMatchObject({ name: 'second-bot' })

    const test = await npm(['test'], dir, 120_000)
    expect(test.code, test.output).toBe(0)
    expect(test.output.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/Tests\s+2 passed/)
  })

  it('refuses a directory that is not empty, with exit code 2, and writes nothing', async () => {
    const dir = await tempDir('template')
    await writeFile(join(dir, 'notes.txt'), 'mine\n')
    const result = await bertybot(['new', dir])
    expect(result.code, result.output).toBe(2)
    expect(result.output).toMatch(/is not empty/)
    expect(await readdir(dir)).toEqual(['notes.txt'])

    const usage = await bertybot(['new'])
    expect(usage.code).toBe(2)
    expect(usage.output).toMatch(/takes one directory/)
    expect((await bertybot(['new', '--help'])).output).toMatch(/Usage: bertybot new <dir>/)
  })

  it('pins the template\'s dependencies as this repository does', async () => {
    const template = JSON.parse(await readFile(join(root, 'templates', 'bot', 'package.json'), 'utf8')) as typeof rootPackage & { scripts: Record<string, string>, type: string }
    expect(template.type).toBe('module')
    expect(template.scripts).toMatchObject({ start: 'node bot.ts', test: 'vitest run' })
    // The project runs bot.ts directly: Node strips types without a flag from 22.18 on.
    expect(template.engines.node).toBe('>=22.18')
    expect(template.dependencies.zod).toBe(rootPackage.dependencies.zod)
    for (const dev of ['node', 'vitest', '@types/node']) expect(template.devDependencies[dev], dev).toBe(rootPackage.devDependencies[dev])
  })
})
