/**
 * `bertybot new <dir>`: a ready-to-run bot project, from the template in
 * `templates/bot` of the bertybot package. The template's placeholders are
 * filled in: `{{name}}` (the project's npm name, from the directory's),
 * `{{botName}}` (the name people see) and `{{bertybot}}` (the dependency:
 * `file:vendor/bertybot-<version>.tgz`, the tarball `vendor.ts` puts in the
 * project, so that it installs without a registry that has bertybot).
 */
import { lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NewProjectError } from './errors.ts'
import { vendorBertybot, VENDOR_DIR } from './vendor.ts'

export { NewProjectError }

/** The package's root: two levels up from this module, in `src/cli/` as in `dist/cli/`. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const TEMPLATE_DIR = join(PACKAGE_ROOT, 'templates', 'bot')

/** Files stored under another name in the template, because npm does not publish them under theirs. */
const RENAMED: Record<string, string> = { gitignore: '.gitignore' }

/** Never copied, should they turn up in the template directory. */
const SKIPPED = new Set(['node_modules', 'package-lock.json', '.env', 'data'])

const MAX_BOT_NAME = 200

export interface NewProjectOptions {
  /** Where to create the project: a new or empty directory. */
  dir: string
  /** The name people see. Default: the directory's name. */
  botName?: string
  /** The bertybot to put in the project: a package directory or a tarball (`npm pack`). Default: the running one. */
  from?: string
}

export interface NewProject {
  /** The project's directory, absolute. */
  dir: string
  /** Its npm package name. */
  name: string
  botName: string
  bertybotVersion: string
  /** The bertybot tarball in the project, relative to `dir`. */
  bertybotTarball: string
  /** The files written, relative to `dir` (the tarball included). */
  files: string[]
}

/** An npm package name made from a directory's name: lower case, letters, digits and `-._~`. */
export function packageName (dirName: string): string {
  const name = dirName.toLowerCase()
    .replace(/[^a-z0-9._~-]+/g, '-')
    .replace(/^[-._~]+/, '')
    .replace(/-+$/, '')
    .slice(0, 214)
  return name === '' ? 'bertybot-bot' : name
}

/** A value as it must appear inside a single- or double-quoted string literal of a .ts or .json file. */
function escapeForQuotes (value: string): string {
  return JSON.stringify(value).slice(1, -1).replaceAll("'", "\\'")
}

/** Refuses a directory that exists and is not empty, or is not a directory; creates it if missing. */
async function prepareTarget (dir: string): Promise<void> {
  let stats
  try {
    stats = await lstat(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    await mkdir(dir, { recursive: true })
    return
  }
  if (!stats.isDirectory()) throw new NewProjectError(`${dir} exists and is not a directory`)
  const entries = await readdir(dir)
  if (entries.length > 0) {
    throw new NewProjectError(`${dir} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}): give a new or empty directory`)
  }
}

/** Every file under `dir`, relative to it, sorted. */
async function listFiles (dir: string, prefix = ''): Promise<string[]> {
  const files: string[] = []
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    if (SKIPPED.has(entry.name)) continue
    const path = prefix === '' ? entry.name : join(prefix, entry.name)
    if (entry.isDirectory()) files.push(...await listFiles(dir, path))
    else if (entry.isFile()) files.push(path)
  }
  return files.sort()
}

export async function createProject (options: NewProjectOptions): Promise<NewProject> {
  const dir = resolve(options.dir)
  const name = packageName(basename(dir))
  const botName = (options.botName ?? basename(dir)).trim()
  if (botName === '' || botName.length > MAX_BOT_NAME || /[\r\n]/.test(botName)) {
    throw new NewProjectError(`the bot's name must be one line of 1 to ${MAX_BOT_NAME} characters`)
  }
  const templateFiles = await listFiles(TEMPLATE_DIR)
  if (!templateFiles.includes('package.json')) throw new Error(`the project template is missing: no package.json in ${TEMPLATE_DIR}`)
  await prepareTarget(dir)
  let vendored
  try {
    vendored = await vendorBertybot(dir, PACKAGE_ROOT, options.from)
  } catch (err) {
    await rm(join(dir, VENDOR_DIR), { recursive: true, force: true })
    throw err
  }
  const dependency = `file:${vendored.file}`
  const values: Record<string, { raw: string, quoted: string }> = {
    name: { raw: name, quoted: name },
    botName: { raw: botName, quoted: escapeForQuotes(botName) },
    bertybot: { raw: dependency, quoted: escapeForQuotes(dependency) }
  }

  const written: string[] = []
  for (const file of templateFiles) {
    const quoted = /\.(ts|json)$/.test(file)
    const text = (await readFile(join(TEMPLATE_DIR, file), 'utf8')).replace(/\{\{(\w+)\}\}/g, (placeholder, key: string) => {
      const value = values[key]
      if (value === undefined) throw new Error(`unknown placeholder ${placeholder} in the template's ${file}`)
      return quoted ? value.quoted : value.raw
    })
    if (file.endsWith('.json')) JSON.parse(text)   // a template mistake shows here, not in the user's npm install
    const target = join(dirname(file), RENAMED[basename(file)] ?? basename(file))
    await mkdir(join(dir, dirname(file)), { recursive: true })
    // 'wx': never overwrite, should something appear in the directory meanwhile.
    await writeFile(join(dir, target), text, { flag: 'wx' })
    written.push(target)
  }
  written.push(vendored.file)
  return { dir, name, botName, bertybotVersion: vendored.version, bertybotTarball: vendored.file, files: written }
}

/** What to type next, with `dir` as the user can `cd` to it from `cwd`. */
export function nextSteps (project: NewProject, cwd = process.cwd()): string {
  const rel = relative(cwd, project.dir)
  const cdTo = rel === '' ? '.' : rel.startsWith('..') ? project.dir : rel
  const shell = /^[\w./@+-]+$/.test(cdTo) ? cdTo : `'${cdTo.replaceAll("'", "'\\''")}'`
  return `Created ${project.name} in ${project.dir}, a bot that depends on bertybot ${project.bertybotVersion},
from ${project.bertybotTarball} inside it (no registry needed for it: keep that file with the project).

Next steps:
  cd ${shell} && npm install && npm test
  npm start                     # runs the bot and prints its contact link
  npx bertybot chat --name me   # in another terminal; then /add <the bot's link>

Its README.md says how to configure it (.env) and deploy it (Docker).
`
}
