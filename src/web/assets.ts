/**
 * Where the built page is: `dist/web` of the bertybot package, from the
 * sources (`src/web`) or from the built package (`dist/web`) alike.
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export function webAssetsDir (): string {
  const here = dirname(fileURLToPath(import.meta.url))
  // dist/web/assets.js sits beside the page it serves; src/web/assets.ts two levels below the package.
  if (existsSync(join(here, 'index.html'))) return here
  return join(here, '..', '..', 'dist', 'web')
}
