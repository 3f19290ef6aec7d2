/**
 * Builds the web client's page (src/web/app) into the directory `bertybot
 * web` serves: app.js (Preact and the page, one minified module), app.css and
 * index.html, with source maps. Everything the page needs is in these files
 * (the icon is inlined as a data: URL, which the page's CSP allows for
 * images): it fetches nothing else, from nowhere else.
 *
 * `node src/web/build.ts` (part of `npm run build`), or `buildWeb()` from a test.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'

const source = fileURLToPath(new URL('./app/', import.meta.url))
/** dist/web at the package's root. */
export const DEFAULT_OUT_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url))
const ICON_REFERENCE = 'href="icon.svg"'

export interface BuildResult {
  outDir: string
  /** The files written, relative to outDir. */
  files: string[]
}

/** index.html with the icon inlined: the server serves only the page's own few files. */
async function page (): Promise<string> {
  const html = await readFile(join(source, 'index.html'), 'utf8')
  if (!html.includes(ICON_REFERENCE)) throw new Error(`src/web/app/index.html has no ${ICON_REFERENCE} to inline`)
  const icon = await readFile(join(source, 'icon.svg'), 'utf8')
  return html.replace(ICON_REFERENCE, `href="data:image/svg+xml,${encodeURIComponent(icon.trim())}"`)
}

export async function buildWeb (options: { outDir?: string } = {}): Promise<BuildResult> {
  const outDir = options.outDir ?? DEFAULT_OUT_DIR
  await mkdir(outDir, { recursive: true })
  const result = await esbuild.build({
    entryPoints: [
      { in: join(source, 'main.tsx'), out: 'app' },
      { in: join(source, 'styles.css'), out: 'app' }
    ],
    outdir: outDir,
    bundle: true,
    minify: true,
    sourcemap: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: join(source, 'tsconfig.json'),
    loader: { '.svg': 'dataurl' },
    legalComments: 'eof',
    metafile: true,
    logLevel: 'warning'
  })
  await writeFile(join(outDir, 'index.html'), await page())
  const built = Object.keys(result.metafile.outputs).map((path) => path.slice(path.lastIndexOf('/') + 1))
  return { outDir, files: [...built, 'index.html'].sort() }
}

if (import.meta.main) {
  const { outDir, files } = await buildWeb()
  console.log(`built the web client's page in ${outDir}: ${files.join(', ')}`)
}
