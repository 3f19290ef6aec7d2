/**
 * The web client shows and does every kind of message, in a real browser:
 * `bertybot web` in a process of its own, the page in Chromium, and on the
 * other side a bot in a process of its own (test/fixtures/kinds-bot.ts)
 * that sends Markdown, buttons, an image, reactions, edits and deletions,
 * and says what it saw of the person's. Screenshots (light, dark, a phone's
 * width) go to BERTYBOT_SCREENSHOTS or the system's temp dir.
 *
 * Without a Chromium the file is skipped with a warning; with
 * BERTYBOT_REQUIRE_CHROMIUM=1 (CI) that is a failure.
 */
import { createHash, randomBytes } from 'node:crypto'
import { truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Locator, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildWeb } from '../../src/web/build.ts'
import { BotProcess } from '../helpers/bot-process.ts'
import { chromiumMissing, launchBrowser, newPage, screenshotsDir, type PageReport } from '../helpers/browser.ts'
import { chart } from '../helpers/png.ts'
import { tempDir } from '../helpers/temp.ts'
import { WebProcess } from '../helpers/web-process.ts'

interface PageElement { textContent: string | null, querySelector: (selector: string) => PageElement | null, getAttribute: (name: string) => string | null }
declare const document: { querySelectorAll: (selector: string) => Iterable<PageElement> }
declare const window: { __pwned?: unknown }

const KINDS_BOT = fileURLToPath(new URL('../fixtures/kinds-bot.ts', import.meta.url))
const SHOWS_MS = 60_000

const missing = chromiumMissing()
if (missing !== undefined) console.warn(`\n*** The web client's browser tests of message kinds were SKIPPED: ${missing}. ***\n`)

/** The message whose text (or, for a file, its file's name) matches, once it shows; the last of them. */
async function message (page: Page, side: 'own' | 'other', text: string | RegExp, timeoutMs = SHOWS_MS): Promise<Locator> {
  const wanted = { side, text: typeof text === 'string' ? text : null, pattern: typeof text === 'string' ? null : text.source }
  const handle = await page.waitForFunction(({ side, text, pattern }) => {
    const match = (t: string | null | undefined): boolean => typeof t === 'string' && (text !== null ? t === text : new RegExp(pattern ?? '').test(t))
    const found = [...document.querySelectorAll(`.msg--${side}`)].filter((m) => match(m.querySelector('.msg-text')?.textContent ?? m.querySelector('.attachment-name')?.textContent ?? m.querySelector('.attachment-image img')?.getAttribute('alt')))
    return found[found.length - 1]?.getAttribute('data-seq') ?? undefined
  }, wanted, { timeout: timeoutMs }).catch(async (err: unknown) => {
    const shown = await page.locator('.msg-text').evaluateAll((all) => all.slice(-8).map((e) => JSON.stringify((e as unknown as PageElement).textContent?.slice(0, 200))))
    throw new Error(`${(err as Error).message}\nwaiting for ${side === 'own' ? 'our' : 'their'} message ${JSON.stringify(String(text))}; the last ones shown:\n${shown.join('\n')}`)
  })
  return page.locator(`.msg[data-seq="${await handle.jsonValue() as string}"]`)
}

async function send (page: Page, text: string): Promise<void> {
  await page.locator('#composer-input').fill(text)
  await page.locator('#composer-input').press('Enter')
}

async function screenshot (page: Page, name: string): Promise<void> {
  // The confirmations still shown are dismissed first, as a person would before looking.
  const dismiss = page.locator('.toasts').getByRole('button', { name: 'Dismiss' })
  while (await dismiss.count() > 0) await dismiss.first().click()
  const path = join(await screenshotsDir(), `${name}.png`)
  await page.screenshot({ path })
  console.log(`screenshot: ${path}`)
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

describe.skipIf(missing !== undefined)('bertybot web shows and does every kind of message', () => {
  let browser: Browser
  let web: WebProcess
  let page: Page
  let report: PageReport
  let bot: BotProcess

  beforeAll(async () => {
    await buildWeb()
    browser = await launchBrowser()
    const cwd = await tempDir('web-kinds')
    web = await WebProcess.start({ dataDir: join(cwd, 'data'), cwd, name: 'alice' })
    ;({ page, report } = await newPage(browser))
    await page.goto(web.url)
    await page.locator('.sidebar').waitFor({ timeout: SHOWS_MS })
    const botDir = await tempDir('web-kinds-bot')
    bot = new BotProcess({ cwd: botDir, env: { BERTYBOT_DATA: join(botDir, 'data'), BERTYBOT_LISTEN: '/ip4/127.0.0.1/tcp/0' }, entry: KINDS_BOT })
    const link = await bot.link()
    await page.getByRole('button', { name: 'Add contact' }).click()
    await page.getByLabel('Their contact link').fill(link)
    await page.getByRole('button', { name: 'Send request' }).click()
    await page.locator('dialog[open]').waitFor({ state: 'detached', timeout: SHOWS_MS })
    const item = page.locator('.conv').filter({ has: page.locator('.conv-name').getByText('kinds', { exact: true }) })
    await item.waitFor({ timeout: SHOWS_MS })
    await item.click()
    await page.locator('.conversation-title h1').getByText('kinds', { exact: true }).waitFor()
  }, 180_000)

  afterEach(({ task }) => {
    if (task.result?.state !== 'fail') return
    console.error(`--- the page reported:\n${[...report.errors, ...report.warnings].join('\n')}\n--- bertybot web's stderr:\n${web.process.stderr.slice(-6000)}\n--- the bot's stderr:\n${bot.stderr.slice(-6000)}`)
  })

  afterAll(async () => {
    await browser?.close()
    if (web?.process.exit === undefined) await web?.stop()
    await bot?.kill9()
  })

  it('shows what the bot sends: Markdown, buttons, an image from its preview and in full, its reaction, an edit and a deletion', async () => {
    await send(page, '/show')
    const command = await message(page, 'own', '/show')
    await command.locator('.reaction').getByText('👍').waitFor({ timeout: SHOWS_MS })
    await expect(command.locator('.reaction').getAttribute('title')).resolves.toBe('kinds reacted with 👍')

    const rich = await message(page, 'other', /^Bold and italic, code and a link/)
    const text = rich.locator('.msg-text--markdown')
    await expect(text.locator('strong').textContent()).resolves.toBe('Bold')
    await expect(text.locator('em').textContent()).resolves.toBe('italic')
    await expect(text.locator('.md-code').textContent()).resolves.toBe('code')
    await expect(text.locator('pre code').textContent()).resolves.toBe('const answer = 42')
    const link = text.locator('a')
    expect([await link.textContent(), await link.getAttribute('href'), await link.getAttribute('rel')]).toEqual(['link', 'https://example.org/docs', 'noopener noreferrer'])

    const question = await message(page, 'other', 'Lunch at noon?')
    expect(await question.locator('.msg-button').allTextContents()).toEqual(['Yes', 'No', 'Maybe later'])
    expect(await question.locator('.msg-button-row').count()).toBe(2)

    const image = await message(page, 'other', 'the chart')
    const preview = image.locator('.attachment-image img')
    await expect(preview.getAttribute('alt')).resolves.toBe('chart.png')
    await page.waitForFunction((img) => (img as unknown as { complete: boolean, naturalWidth: number }).complete && (img as unknown as { naturalWidth: number }).naturalWidth > 0, await preview.elementHandle(), { timeout: SHOWS_MS })
    expect(await preview.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(120)

    const typo = await message(page, 'other', 'this has a typo: tset')
    const doomed = await message(page, 'other', 'this one goes away')
    await send(page, '/change')
    await typo.locator('.msg-edited').waitFor({ timeout: SHOWS_MS })
    await expect(typo.locator('.msg-text').textContent()).resolves.toBe('this had a typo: test')
    await expect(typo.locator('.msg-text strong').textContent()).resolves.toBe('test')
    await doomed.locator('.msg-deleted').getByText('This message was deleted').waitFor({ timeout: SHOWS_MS })
    expect(await doomed.locator('.msg-text').count()).toBe(0)

    await page.locator('#composer-input').hover()
    await screenshot(page, 'kinds-desktop-light')
    await page.emulateMedia({ colorScheme: 'dark' })
    await screenshot(page, 'kinds-desktop-dark')
    await page.emulateMedia({ colorScheme: 'light' })

    // The image in full, from the file route, on a click.
    await preview.click()
    const viewer = page.locator('dialog[open] .image-viewer img')
    await page.waitForFunction((img) => (img as unknown as { complete: boolean, naturalWidth: number }).complete && (img as unknown as { naturalWidth: number }).naturalWidth > 0, await viewer.elementHandle(), { timeout: SHOWS_MS })
    expect(await viewer.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(480)
    await screenshot(page, 'kinds-image-viewer')
    await page.keyboard.press('Escape')
    await page.locator('dialog[open]').waitFor({ state: 'detached' })

    const phone = await newPage(browser, { width: 390, height: 844 })
    await phone.page.goto(web.url)
    await phone.page.locator('.conv').filter({ hasText: 'kinds' }).click()
    await message(phone.page, 'other', 'this had a typo: test')
    await phone.page.locator('#composer-input').hover()
    await screenshot(phone.page, 'kinds-phone')
    expect(phone.report.errors).toEqual([])
    await phone.context.close()
    expect(report.errors).toEqual([])
  }, 180_000)

  it('does what the person does: presses a button, reacts and takes it back, edits and deletes their message; the bot sees each', async () => {
    const question = await message(page, 'other', 'Lunch at noon?')
    await question.getByRole('button', { name: 'Yes' }).click()
    await message(page, 'other', 'You chose yes.')
    await expect(question.getByRole('button', { name: 'Yes' }).getAttribute('aria-pressed')).resolves.toBe('true')
    await expect(question.getByRole('button', { name: 'No' }).getAttribute('aria-pressed')).resolves.toBe('false')

    const rich = await message(page, 'other', /^Bold and italic/)
    await rich.hover()
    await rich.getByRole('button', { name: 'React', exact: true }).click()
    await page.getByRole('button', { name: 'React with 🎉' }).click()
    await message(page, 'other', 'you reacted 🎉')
    const mine = rich.locator('.reaction--own')
    await expect(mine.textContent()).resolves.toBe('🎉1')
    await mine.click()
    await message(page, 'other', 'you reacted 🎉 (taken back)')
    await rich.locator('.reaction').waitFor({ state: 'detached' })

    await send(page, 'see you at nono')
    const typo = await message(page, 'own', 'see you at nono')
    await typo.locator('.msg-state--sent, .msg-state--seen').waitFor({ timeout: SHOWS_MS })
    await typo.hover()
    await typo.getByRole('button', { name: 'More actions' }).click()
    await page.getByRole('menuitem', { name: 'Edit' }).click()
    await page.locator('.composer-edit').getByText('Editing your message:').waitFor()
    expect(await page.locator('#composer-input').inputValue()).toBe('see you at nono')
    await send(page, 'see you at noon')
    await message(page, 'other', 'you edited a message to "see you at noon"')
    await expect(typo.locator('.msg-text').textContent()).resolves.toBe('see you at noon')
    await typo.locator('.msg-edited').waitFor()
    expect(await page.locator('.composer-edit').count()).toBe(0)

    await typo.hover()
    await typo.getByRole('button', { name: 'More actions' }).click()
    await page.getByRole('menuitem', { name: 'Delete' }).click()
    await page.locator('dialog[open]').getByRole('button', { name: 'Delete', exact: true }).click()
    await message(page, 'other', 'you deleted a message')
    await typo.locator('.msg-deleted').getByText('You deleted this message').waitFor()
    expect(report.errors).toEqual([])
  }, 180_000)

  it('sends files the bot receives whole: an image with the preview the page made, and any other file; one too large is refused before it goes', async () => {
    const photo = chart(640, 400)
    await page.locator('#composer-file').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: photo })
    const sent = await message(page, 'own', 'photo.png')
    const preview = sent.locator('.attachment-image img')
    await page.waitForFunction((img) => (img as unknown as { complete: boolean, naturalWidth: number }).complete && (img as unknown as { naturalWidth: number }).naturalWidth > 0, await preview.elementHandle(), { timeout: SHOWS_MS })
    // The page drew it smaller: the longest side of the preview is at most 320 pixels.
    expect(await preview.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeLessThanOrEqual(320)
    await message(page, 'other', `got photo.png, ${photo.length} bytes, sha256 ${sha256(photo)}`)

    const data = randomBytes(700_000)
    await page.locator('#composer-file').setInputFiles({ name: 'data.bin', mimeType: 'application/octet-stream', buffer: data })
    const file = await message(page, 'own', 'data.bin')
    await expect(file.locator('.attachment-size').textContent()).resolves.toBe('684 kB')
    await expect(file.getByRole('link', { name: 'Save' }).getAttribute('download')).resolves.toBe('data.bin')
    await message(page, 'other', `got data.bin, ${data.length} bytes, sha256 ${sha256(data)}`)

    // A file on disk (sparse, made at once), which the browser reads from its path: nothing of its 25 MiB crosses to the page until it is sent.
    const huge = join(await tempDir('web-kinds-files'), 'huge.bin')
    await writeFile(huge, '')
    await truncate(huge, 25 * 1024 * 1024 + 1)
    await page.locator('#composer-file').setInputFiles(huge)
    await page.locator('.notice').getByText(/huge\.bin has 25\.0 MB; files of at most 25\.0 MB can be sent/).waitFor({ timeout: SHOWS_MS })
    expect(await page.locator('.msg--own .attachment-name').allTextContents()).toEqual(['data.bin'])
    await page.locator('#composer-input').hover()
    await screenshot(page, 'kinds-files')
    expect(report.errors).toEqual([])
  }, 180_000)

  it('renders hostile Markdown as text: no element from it but the subset\'s, no script, no javascript: or data: link', async () => {
    await send(page, '/hostile')
    const hostile = await message(page, 'other', /^<img src=x onerror=/)
    const text = hostile.locator('.msg-text--markdown')
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined()
    expect(await text.locator('img, script, style, h1').count()).toBe(0)
    // An image is not in the subset: its syntax is a "!" and a link, https like any link shown.
    expect(await text.locator('a').evaluateAll((links) => links.map((a) => (a as unknown as { href: string }).href))).toEqual(['https://example.org/x.png'])
    await expect(text.locator('strong').textContent()).resolves.toBe('<script>window.__pwned=1</script>')
    await expect(text.locator('.md-code').textContent()).resolves.toBe('<b>code</b>')
    expect(await text.textContent()).toContain('[click](javascript:window.__pwned=1)')
    expect(await text.textContent()).toContain('# not a heading')
    expect(await page.locator('script').count()).toBe(1)
    expect(await page.locator('.history img:not(.attachment-image img)').count()).toBe(0)
    expect(report.errors).toEqual([])
  }, 120_000)
})
