/**
 * `bertybot new`: the project it makes carries this repository's bertybot
 * (npm pack of it, built from the sources as they are now), installs from
 * it without a registry copy of bertybot, passes its own tests and starts,
 * as a user's would.
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
  it('makes a project that carries its bertybot, installs from it, passes its own tests and starts', { timeout: 420_000 }, async () => {
    // No --from: the project gets npm pack of this checkout, built from the sources as they are now.
    const dir = join(await tempDir('template'), 'dice-bot')
    const created = await run(process.execPath, ['--conditions=bertybot-source', cli, 'new', dir, '--name', "Dice's bot"], { cwd: root, timeoutMs: 180_000 })
    expect(created.code, created.output).toBe(0)
    expect(created.output).toContain('npm install && npm test')
    expect(created.output).toContain('npm start')
    expect(created.output).toContain(`vendor/bertybot-${rootPackage.version}.tgz`)

    const files = await readdir(dir)
    expect(files).toEqual(expect.arrayContaining(['package.json', 'bot.ts', 'bot.test.ts', '.env.example', 'Dockerfile', 'README.md', '.gitignore', 'vendor']))
    expect(files).not.toContain('gitignore')
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { name: string, dependencies: Record<string, string> }
    expect(pkg.name).toBe('dice-bot')
    expect(pkg.dependencies.bertybot).toBe(`file:vendor/bertybot-${rootPackage.version}.tgz`)
    expect(await readFile(join(dir, 'bot.ts'), 'utf8')).toContain("displayName: 'Dice\\'s bot'")
    const env = await readFile(join(dir, '.env.example'), 'utf8')
    for (const variable of ['DATA', 'NAME', 'LISTEN', 'BOOTSTRAP', 'REPLICAS', 'DHT', 'MDNS', 'TIMEZONE', 'CONCURRENCY', 'LOG_LEVEL', 'LOG_FORMAT']) {
      expect(env).toMatch(new RegExp(`^BERTYBOT_${variable}=`, 'm'))
    }
    for (const file of files.filter((f) => f !== 'vendor')) expect(await readFile(join(dir, file), 'utf8'), `placeholders left in ${file}`).not.toMatch(/\{\{\w+\}\}/)
    // The Docker image's build copies the tarball before npm ci.
    expect(await readFile(join(dir, 'Dockerfile'), 'utf8')).toMatch(/COPY vendor \.\/vendor\nRUN npm ci/)

    // What npm pack put in it: the built JavaScript and its types, the command, the template.
    const listing = await run('tar', ['-tzf', join(dir, 'vendor', `bertybot-${rootPackage.version}.tgz`)], { cwd: dir, timeoutMs: 30_000 })
    for (const file of ['dist/framework/index.js', 'dist/framework/index.d.ts', 'dist/protocol/index.js', 'dist/cli/main.js', 'templates/bot/package.json', 'package.json']) {
      expect(listing.output, file).toContain(`package/${file}`)
    }

    const install = await npm(['install', '--prefer-offline', '--no-audit', '--no-fund'], dir, 180_000)
    expect(install.code, install.output).toBe(0)
    expect(existsSync(join(dir, 'node_modules', '.bin', 'node')), 'the project brings its own Node').toBe(true)

    // The installed command (dist/cli) makes projects too, carrying the installed bertybot.
    const second = join(dirname(dir), 'second-bot')
    const fromDist = await run(process.execPath, [join(dir, 'node_modules', '.bin', 'bertybot'), 'new', second], { cwd: dir, timeoutMs: 60_000 })
    expect(fromDist.code, fromDist.output).toBe(0)
    expect(JSON.parse(await readFile(join(second, 'package.json'), 'utf8'))).toMatchObject({ name: 'second-bot', dependencies: { bertybot: `file:vendor/bertybot-${rootPackage.version}.tgz` } })
    expect(existsSync(join(second, 'vendor', `bertybot-${rootPackage.version}.tgz`))).toBe(true)

    const test = await npm(['test'], dir, 120_000)
    expect(test.code, test.output).toBe(0)
    expect(test.output.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/Tests\s+2 passed/)

    // And it runs (what npm start runs, on the project's own Node): it prints its contact link; SIGTERM stops it cleanly.
    const start = spawn(join(dir, 'node_modules', '.bin', 'node'), ['bot.ts'], { cwd: dir, env: { ...childEnv(), BERTYBOT_DATA: join(dirname(dir), 'dice-data') }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    if (start.pid !== undefined) running.add(start.pid)
    let output = ''
    const exited = new Promise<number | null>((resolve) => start.on('close', (code) => { resolve(code) }))
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`no contact link within 60 s:\n${output}`)) }, 60_000)
      const look = (chunk: Buffer): void => {
        output += chunk.toString()
        if (/bertybot:\/\/contact\/\S+/.test(output)) { clearTimeout(timer); resolve() }
      }
      start.stdout.on('data', look)
      start.stderr.on('data', look)
    })
    process.kill(-(start.pid as number), 'SIGTERM')
    expect(await exited, output).toBe(0)
  })

  it('refuses a --from that is not bertybot, and leaves the directory as it was', async () => {
    const dir = join(await tempDir('template'), 'nothing-bot')
    const result = await bertybot(['new', dir, '--from', join(root, 'README.md')])
    expect(result.code, result.output).toBe(2)
    expect(result.output).toMatch(/--from .*README\.md: give a bertybot package directory or a \.tgz/)
    expect(existsSync(join(dir, 'vendor'))).toBe(false)
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
