/**
 * The layout's import rules (`.dependency-cruiser.cjs`), checked by
 * dependency-cruiser over the whole tree: no import circles; protocol below
 * framework below client, web and cli, each seen through its entry point;
 * bots and templates only through the package's public entry points; no
 * package imported that package.json does not name. And no file under src/
 * over `MAX_LINES` lines: one that grows past it holds two concepts.
 */
import { execFile } from 'node:child_process'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { tempDir } from './helpers/temp.ts'

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..')
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise')
const CONFIG = join(ROOT, '.dependency-cruiser.cjs')
const MAX_LINES = 350

/** Runs the check in `cwd` over `paths`; resolves with its exit code and what it printed. */
async function check (cwd: string, paths: string[]): Promise<{ code: number, output: string }> {
  try {
    const { stdout, stderr } = await run(DEPCRUISE, ['--config', CONFIG, ...paths], { cwd, timeout: 120_000 })
    return { code: 0, output: stdout + stderr }
  } catch (err) {
    const failed = err as { code?: number, stdout?: string, stderr?: string }
    return { code: typeof failed.code === 'number' ? failed.code : -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` }
  }
}

describe('the import rules', () => {
  it('hold for the whole tree', async () => {
    const { code, output } = await check(ROOT, ['src', 'bots', 'templates', 'bench'])
    expect(output).toContain('no dependency violations found')
    expect(code).toBe(0)
  }, 150_000)

  it('fail on a circle, on the protocol importing the framework, and on a bot importing a framework file by path', async () => {
    const dir = await tempDir('layout')
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', allowImportingTsExtensions: true, noEmit: true } }))
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'layout-fixture', type: 'module' }))
    for (const folder of ['src/protocol', 'src/framework', 'bots/echo']) await mkdir(join(dir, folder), { recursive: true })
    await writeFile(join(dir, 'src/protocol/index.ts'), "import { bot } from '../framework/bot.ts'\nexport const peer = (): unknown => bot\n")
    await writeFile(join(dir, 'src/framework/bot.ts'), "import { peer } from '../protocol/index.ts'\nexport const bot = (): unknown => peer\n")
    await writeFile(join(dir, 'bots/echo/index.ts'), "import { bot } from '../../src/framework/bot.ts'\nexport default bot\n")

    const { code, output } = await check(dir, ['src', 'bots'])
    expect(code).not.toBe(0)
    expect(output).toContain('no-circular')
    expect(output).toContain('protocol-is-the-bottom')
    expect(output).toContain('bots-and-templates-use-the-package')
  }, 150_000)
})

/** Each file under `root/src` with more than `max` lines, as `src/<path>: <n> lines`, counted as `wc -l` counts. */
async function filesOver (root: string, max: number): Promise<string[]> {
  const over: string[] = []
  for (const entry of await readdir(join(root, 'src'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    const text = await readFile(path, 'utf8')
    const lines = text.split('\n').length - 1
    if (lines > max) over.push(`${relative(root, path)}: ${lines} lines`)
  }
  return over.sort()
}

describe('the size rule', () => {
  it(`holds: no file under src/ is over ${MAX_LINES} lines`, async () => {
    expect(await filesOver(ROOT, MAX_LINES)).toEqual([])
  })

  it('fails naming each file over the limit, in any folder and of any kind, and passes one at the limit', async () => {
    const dir = await tempDir('layout-lines')
    for (const folder of ['src/protocol', 'src/web/app/styles']) await mkdir(join(dir, folder), { recursive: true })
    await writeFile(join(dir, 'src/protocol/at-the-limit.ts'), 'export const x = 1\n'.repeat(MAX_LINES))
    await writeFile(join(dir, 'src/protocol/long.ts'), 'export const x = 1\n'.repeat(MAX_LINES + 1))
    await writeFile(join(dir, 'src/web/app/styles/long.css'), '.a { color: red; }\n'.repeat(MAX_LINES * 2))

    expect(await filesOver(dir, MAX_LINES)).toEqual([
      `src/protocol/long.ts: ${MAX_LINES + 1} lines`,
      `src/web/app/styles/long.css: ${MAX_LINES * 2} lines`
    ])
  })
})
