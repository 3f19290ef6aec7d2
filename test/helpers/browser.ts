/**
 * A real Chromium for the web client's tests, driven with playwright-core:
 * the machine's own build (BERTYBOT_CHROMIUM, or Debian's /usr/bin/chromium),
 * with a fresh profile each launch and no traffic of its own (no updates,
 * sync or QUIC). Each page records what the browser reported (errors,
 * warnings, CSP violations) so a test can say the page stayed clean.
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'

export const CHROMIUM = process.env.BERTYBOT_CHROMIUM ?? '/usr/bin/chromium'

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

/**
 * Why the browser tests cannot run here, or undefined when they can. Where
 * they must run (BERTYBOT_REQUIRE_CHROMIUM=1, as in CI), a missing browser
 * is an error, not a skip.
 */
export function chromiumMissing (): string | undefined {
  if (existsSync(CHROMIUM)) return undefined
  const reason = `no Chromium at ${CHROMIUM} (set BERTYBOT_CHROMIUM to its path)`
  if (process.env.BERTYBOT_REQUIRE_CHROMIUM === '1') throw new Error(`BERTYBOT_REQUIRE_CHROMIUM=1 but ${reason}`)
  return reason
}

export async function launchBrowser (): Promise<Browser> {
  return await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
}

/** What the browser said about a page: uncaught errors, and console errors and warnings. */
export interface PageReport {
  errors: string[]
  warnings: string[]
}

export interface PageOptions {
  width?: number
  height?: number
  colorScheme?: 'light' | 'dark'
}

/** A page in a context of its own (its own cookies), reporting into `report`. */
export async function newPage (browser: Browser, options: PageOptions = {}): Promise<{ context: BrowserContext, page: Page, report: PageReport }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
    colorScheme: options.colorScheme ?? 'light',
    // The page may copy links: allow the clipboard as a person who clicked "allow" would.
    permissions: ['clipboard-read', 'clipboard-write']
  })
  const page = await context.newPage()
  const report: PageReport = { errors: [], warnings: [] }
  page.on('pageerror', (error) => { report.errors.push(`uncaught: ${error.message}`) })
  page.on('console', (message) => {
    if (message.type() === 'error') report.errors.push(message.text())
    if (message.type() === 'warning') report.warnings.push(message.text())
  })
  return { context, page, report }
}

/** Where screenshots go: BERTYBOT_SCREENSHOTS, or a directory under the system's temp dir; never the repository. */
export async function screenshotsDir (): Promise<string> {
  const dir = process.env.BERTYBOT_SCREENSHOTS ?? join(tmpdir(), 'bertybot-screenshots')
  await mkdir(dir, { recursive: true })
  return dir
}
