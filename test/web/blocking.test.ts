/**
 * Blocking in the web client, in a real browser: `bertybot web` in a process
 * of its own, the page in Chromium, two peers of the protocol as the other
 * members of a group. A member is blocked from the menu of one of their
 * messages (asked first), what they send stops showing, the menu then
 * offers Unblock, and they are unblocked from the list in "Your link". Screenshots go to
 * BERTYBOT_SCREENSHOTS or the system's temp dir.
 *
 * Without a Chromium the file is skipped with a warning; with
 * BERTYBOT_REQUIRE_CHROMIUM=1 (CI) that is a failure.
 */
import { join } from 'node:path'
import type { Browser, Locator, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { MemberJoinedEvent, MessageEvent } from '../../src/protocol/index.ts'
import { buildWeb } from '../../src/web/build.ts'
import { chromiumMissing, launchBrowser, newPage, screenshotsDir, type PageReport } from '../helpers/browser.ts'
import { startPeer, type TestPeer } from '../helpers/peers.ts'
import { tempDir } from '../helpers/temp.ts'
import { Inbox } from '../helpers/wait.ts'
import { WebProcess } from '../helpers/web-process.ts'

const SHOWS_MS = 60_000

const missing = chromiumMissing()
if (missing !== undefined) console.warn(`\n*** The web client's browser test of blocking was SKIPPED: ${missing}. ***\n`)

/** The message of another with this text, once it shows. */
async function theirMessage (page: Page, text: string): Promise<Locator> {
  const found = page.locator('.msg--other').filter({ has: page.locator('.msg-text').getByText(text, { exact: true }) })
  await found.waitFor({ timeout: SHOWS_MS })
  return found
}

async function shownTexts (page: Page): Promise<string[]> {
  return await page.locator('.msg-text').allTextContents()
}

async function screenshot (page: Page, name: string): Promise<void> {
  const dismiss = page.locator('.toasts').getByRole('button', { name: 'Dismiss' })
  while (await dismiss.count() > 0) await dismiss.first().click()
  const path = join(await screenshotsDir(), `${name}.png`)
  await page.screenshot({ path })
  console.log(`screenshot: ${path}`)
}

describe.skipIf(missing !== undefined)('bertybot web blocks and unblocks an account', () => {
  let browser: Browser
  let web: WebProcess
  let page: Page
  let report: PageReport
  const peers: TestPeer[] = []

  beforeAll(async () => {
    await buildWeb()
    browser = await launchBrowser()
    const cwd = await tempDir('web-blocking')
    web = await WebProcess.start({ dataDir: join(cwd, 'data'), cwd, name: 'alice' })
    ;({ page, report } = await newPage(browser))
    await page.goto(web.url)
    await page.locator('.sidebar').waitFor({ timeout: SHOWS_MS })
  }, 120_000)

  afterEach(({ task }) => {
    if (task.result?.state !== 'fail') return
    console.error(`--- the page reported:\n${[...report.errors, ...report.warnings].join('\n')}\n--- bertybot web's stderr:\n${web.process.stderr.slice(-6000)}`)
  })

  afterAll(async () => {
    await browser?.close()
    await Promise.all(peers.map(async ({ peer }) => { await peer.stop() }))
    if (web?.process.exit === undefined) await web?.stop()
  })

  it('blocks a group member from their message\'s menu (asked first): their messages stop showing; unblocked from Your link, they show again', async () => {
    await page.getByRole('button', { name: 'New group' }).click()
    await page.getByLabel('Group name').fill('Garden')
    await page.getByRole('button', { name: 'Create' }).click()
    await page.locator('.conversation-title h1').getByText('Garden', { exact: true }).waitFor({ timeout: SHOWS_MS })
    await page.getByRole('button', { name: 'Invitation link' }).click()
    const invitation = await page.locator('dialog[open] #copy-field').inputValue()
    await page.keyboard.press('Escape')

    const [maya, tom] = await Promise.all([startPeer({ displayName: 'Maya' }), startPeer({ displayName: 'Tom' })])
    peers.push(maya, tom)
    const joined = [maya, tom].map(({ peer }) => new Inbox<MemberJoinedEvent>(peer, 'memberJoined'))
    const tomInbox = new Inbox<MessageEvent>(tom.peer, 'message')
    const [mayas, toms] = await Promise.all([maya.peer.joinGroup(invitation), tom.peer.joinGroup(invitation)])
    await page.locator('.conversation-title p').getByText('3 members').waitFor({ timeout: SHOWS_MS })
    await Promise.all(joined.map(async (inbox) => await inbox.until('both other members to be seen', (events) => new Set(events.map((e) => e.member.account)).size >= 2, SHOWS_MS)))

    await mayas.send({ text: 'The tomatoes are ripe.' })
    const first = await theirMessage(page, 'The tomatoes are ripe.')
    await first.hover()
    await first.getByRole('button', { name: 'More actions' }).click()
    await first.getByRole('menuitem', { name: 'Block Maya' }).waitFor()
    await screenshot(page, 'block-menu')
    await first.getByRole('menuitem', { name: 'Block Maya' }).click()
    const asked = page.locator('dialog[open]')
    await asked.getByRole('heading', { name: 'Block Maya?' }).waitFor()
    await screenshot(page, 'block-asked')
    await asked.getByRole('button', { name: 'Block', exact: true }).click()
    await asked.waitFor({ state: 'detached', timeout: SHOWS_MS })
    await page.locator('.notice').getByText('Maya is blocked.', { exact: false }).waitFor({ timeout: SHOWS_MS })

    // Tom writes once he has Maya's message: the log gives it to the client first (causal order), so it was judged when Tom's shows.
    await mayas.send({ text: 'Sent while blocked.' })
    await tomInbox.until('Tom to have Maya\'s message', (items) => items.some((m) => m.text === 'Sent while blocked.'), SHOWS_MS)
    await toms.send({ text: 'I will bring a basket.' })
    await theirMessage(page, 'I will bring a basket.')
    expect(await shownTexts(page)).not.toContain('Sent while blocked.')
    await page.locator('#composer-input').hover()
    await screenshot(page, 'blocked-hidden')

    // Her message's menu now offers Unblock; the list in Your link does it here.
    await first.hover()
    await first.getByRole('button', { name: 'More actions' }).click()
    await first.getByRole('menuitem', { name: 'Unblock Maya' }).waitFor()
    await screenshot(page, 'unblock-menu')
    await page.keyboard.press('Escape')
    await first.getByRole('menuitem').waitFor({ state: 'detached' })

    await page.getByRole('button', { name: 'Your link' }).click()
    const dialog = page.locator('dialog[open]')
    const item = dialog.locator('.blocked-item').filter({ hasText: 'Maya' })
    await item.waitFor({ timeout: SHOWS_MS })
    await screenshot(page, 'blocked-list')
    await dialog.getByRole('button', { name: 'Unblock Maya' }).click()
    await dialog.getByText('Nobody.', { exact: false }).waitFor({ timeout: SHOWS_MS })
    await page.keyboard.press('Escape')

    await mayas.send({ text: 'Back in the conversation.' })
    await theirMessage(page, 'Back in the conversation.')
    expect(await shownTexts(page)).not.toContain('Sent while blocked.')
    expect(report.errors).toEqual([])
  }, 240_000)
})
