/**
 * The bertybot a new project depends on, as a tarball inside the project
 * (`vendor/bertybot-<version>.tgz`, a `file:` dependency): the project then
 * installs where no registry has bertybot, its Docker image builds from its
 * own directory, and it runs the bertybot it was made with.
 *
 * The tarball is `npm pack` of the running installation, or of the package
 * or tarball given with `--from`. Packing a checkout builds its `dist/`
 * first (its `prepare` script); an installed package is packed as it is.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { z } from 'zod'
import { NewProjectError } from './errors.ts'

const run = promisify(execFile)

/** Where the tarball goes, inside the project. */
export const VENDOR_DIR = 'vendor'

const packOutputSchema = z.array(z.object({ filename: z.string(), version: z.string(), name: z.string() })).min(1)
const packageJsonSchema = z.object({ name: z.string(), version: z.string() })

export interface VendoredPackage {
  /** The tarball, relative to the project: what its package.json depends on (`file:<this>`). */
  file: string
  version: string
}

/** Puts a bertybot tarball in `<projectDir>/vendor`: of `from` (a package directory or a .tgz), else of `packageRoot`. */
export async function vendorBertybot (projectDir: string, packageRoot: string, from?: string): Promise<VendoredPackage> {
  const destination = join(projectDir, VENDOR_DIR)
  await mkdir(destination, { recursive: true })
  const source = resolve(from ?? packageRoot)
  const kind = await stat(source).then((s) => s.isDirectory() ? 'directory' : 'file', () => undefined)
  if (kind === undefined) throw new NewProjectError(`--from ${from ?? source}: no such file or directory`)
  if (kind === 'file') {
    if (!source.endsWith('.tgz')) throw new NewProjectError(`--from ${from ?? source}: give a bertybot package directory or a .tgz made by npm pack`)
    const version = /bertybot-(\d+\.\d+\.\d+[^/]*)\.tgz$/.exec(basename(source))?.[1]
    if (version === undefined) throw new NewProjectError(`--from ${from ?? source}: not a bertybot tarball (npm pack names it bertybot-<version>.tgz)`)
    await copyFile(source, join(destination, basename(source)))
    return { file: `${VENDOR_DIR}/${basename(source)}`, version }
  }
  const manifest = packageJsonSchema.safeParse(JSON.parse(await readFile(join(source, 'package.json'), 'utf8').catch(() => '{}')))
  if (!manifest.success || manifest.data.name !== 'bertybot') throw new NewProjectError(`--from ${from ?? source}: not the bertybot package (no package.json named bertybot)`)
  // A checkout (it has the build's config) is built by its prepare script; an installed package has its dist/ already.
  const checkout = existsSync(join(source, 'tsconfig.build.json'))
  const args = ['pack', '--json', '--pack-destination', destination, ...(checkout ? [] : ['--ignore-scripts'])]
  let stdout: string
  try {
    ({ stdout } = await run(npmCommand(), args, { cwd: source, maxBuffer: 16 * 1024 * 1024 }))
  } catch (err) {
    throw new NewProjectError(`could not pack bertybot from ${source} with npm: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`)
  }
  // npm prints the prepare script's output before the JSON.
  const packed = packOutputSchema.safeParse(JSON.parse(stdout.slice(stdout.indexOf('['))))
  if (!packed.success) throw new NewProjectError(`npm pack in ${source} said something unexpected`)
  const { filename, version } = packed.data[0] as { filename: string, version: string }
  return { file: `${VENDOR_DIR}/${basename(filename)}`, version }
}

/** npm, from beside the Node that runs us when it is there (the project's own Node 24 has it). */
function npmCommand (): string {
  const beside = join(process.execPath, '..', 'npm')
  return existsSync(beside) ? beside : 'npm'
}
