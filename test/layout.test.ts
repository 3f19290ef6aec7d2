/**
 * The layout's import rules (`.dependency-cruiser.cjs`), checked by
 * dependency-cruiser over the whole tree: no import circles; protocol below
 * framework below client, web and cli, each seen through its entry point;
 * bots and templates only through the package's public entry points; no
 * package imported that package.json does not name.
 */
import { execFile } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { tempDir } from './helpers/temp.ts'

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..')
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise')
const CONFIG = join(ROOT, '.dependency-cruiser.cjs')

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
