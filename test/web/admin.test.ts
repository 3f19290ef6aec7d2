/**
 * The web client in a group the person made, as its admin: others' messages
 * offer Delete (and no Edit) in their menu, and a deletion by an admin says
 * so. `bertybot web` in a process of its own, the page in Chromium, a member
 * on a peer in the test's process.
 *
 * Without a Chromium the file is skipped with a warning; with
 * BERTYBOT_REQUIRE_CHROMIUM=1 (CI) that is a failure.
 */
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, describe, expect, it } from 'vitest'
import type { MessageDeletedEvent } from '../../src/protocol/index.ts'
import { buildWeb } from '../../src/web/build.ts'
import { chromiumMissing, launchBrowser, newPage } from '../helpers/browser.ts'
import { startPeer } from '../helpers/peers.ts'
import { tempDir } from '../helpers/temp.ts'
import { Inbox } from '../helpers/wait.ts'
import { WebProcess } from '../helpers/web-process.ts'

const SHOWS_MS = 60_000

const missing = chromiumMissing()
if (missing !== undefined) console.warn(`\n*** The web client's browser test of a group's admin was SKIPPED: ${missing}. ***\n`)

describe.skipIf(missing !== undefined)('bertybot web, as a group\'s admin', () => {
  let browser: Browser | undefined
  let web: WebProcess | undefined

  afterAll(async () => {
    await browser?.close()
    if (web?.process.exit === undefined) await web?.stop()
  })

  it('deletes a member\'s message from its menu, and shows it deleted by an admin', async () => {
    await buildWeb()
    browser = await launchBrowser()
    const cwd = await tempDir('web-admin')
    web = await WebProcess.start({ dataDir: join(cwd, 'data'), cwd, name: 'alice' })
    const { page, report } = await newPage(browser)
    await page.goto(web.url)
    await page.locator('.sidebar').waitFor({ timeout: SHOWS_MS })

    await page.getByRole('button', { name: 'New group' }).click()
    await page.getByLabel('Group name').fill('moderated')
    await page.locator('dialog[open]').getByRole('button', { name: 'Create' }).click()
    await page.locator('.conversation-title h1').getByText('moderated', { exact: true }).waitFor({ timeout: SHOWS_MS })
    await page.getByRole('button', { name: 'Invitation link' }).click()
    const field = page.locator('dialog[open] #copy-field')
    await field.waitFor({ timeout: SHOWS_MS })
    const invitation = await field.inputValue()
    await page.keyboard.press('Escape')
    await page.locator('dialog[open]').waitFor({ state: 'detached' })

    const bob = await startPeer({ displayName: 'bob' })
    const deletions = new Inbox<MessageDeletedEvent>(bob.peer, 'messageDeleted')
    const group = await bob.peer.joinGroup(invitation)
    const spam = await group.send({ text: 'buy my coins' })
    const shown = page.locator(`.msg--other[data-message-id="${spam}"]`)
    await shown.locator('.msg-text').getByText('buy my coins', { exact: true }).waitFor({ timeout: SHOWS_MS })

    await shown.hover()
    await shown.getByRole('button', { name: 'More actions' }).click()
    expect(await page.getByRole('menuitem', { name: 'Edit' }).count()).toBe(0)
    await page.getByRole('menuitem', { name: 'Delete' }).click()
    await page.locator('dialog[open]').getByRole('button', { name: 'Delete', exact: true }).click()
    await shown.locator('.msg-deleted').getByText('This message was deleted by an admin').waitFor({ timeout: SHOWS_MS })
    expect(await shown.locator('.msg-text').count()).toBe(0)
    const [deletion] = await deletions.count(1, 'alice\'s deletion at bob', SHOWS_MS)
    expect(deletion).toMatchObject({ target: spam, deletedBy: 'admin' })
    expect(report.errors).toEqual([])
  }, 180_000)
})
