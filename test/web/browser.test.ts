/**
 * The web client in a real browser: `bertybot web` in a process of its own,
 * the page built as `npm run build` builds it, opened in Chromium at the link
 * the process printed; on the other side, bots in processes of their own and
 * peers of the protocol. Each test does what a person does (clicks, types)
 * and checks what they see.
 *
 * The tests run in order on one `bertybot web` and one browser, each
 * building on the conversations of the ones before (as one person's day
 * would): add the echo bot, talk to a bot with commands, reply, a group,
 * restart, hostile content. Screenshots go to BERTYBOT_SCREENSHOTS (or a
 * directory under the system's temp dir), never into the repository.
 *
 * Without a Chromium the file is skipped with a warning; with
 * BERTYBOT_REQUIRE_CHROMIUM=1 (CI) that is a failure.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Locator, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ContactAcceptedEvent, MemberJoinedEvent, MessageEvent } from '../../src/protocol/index.ts'
import { buildWeb } from '../../src/web/build.ts'
import { BotProcess } from '../helpers/bot-process.ts'
import { chromiumMissing, launchBrowser, newPage, screenshotsDir, type PageReport } from '../helpers/browser.ts'
import { startPeer, type TestPeer } from '../helpers/peers.ts'
import { tempDir } from '../helpers/temp.ts'
import { Inbox } from '../helpers/wait.ts'
import { WebProcess } from '../helpers/web-process.ts'

// What the functions handed to page.evaluate use of the DOM: they run in the page, and the tests' tsconfig has no DOM lib.
interface PageElement { textContent: string | null, querySelector: (selector: string) => PageElement | null, getAttribute: (name: string) => string | null }
declare const document: { querySelectorAll: (selector: string) => Iterable<PageElement> }
declare const window: { __pwned?: unknown }
declare const navigator: { clipboard: { readText: () => Promise<string> } }
declare function getComputedStyle (element: unknown): { whiteSpace: string, direction: string }

const ECHO_BOT = fileURLToPath(new URL('../../bots/echo/index.ts', import.meta.url))
const DICE_BOT = fileURLToPath(new URL('../fixtures/dice-bot.ts', import.meta.url))
/** How long anything that crosses the network may take to show. */
const SHOWS_MS = 60_000

const missing = chromiumMissing()
if (missing !== undefined) console.warn(`\n*** The web client's browser tests were SKIPPED: ${missing}. ***\n`)

/** A bot process started as in production, on loopback, with its data in a temp directory. */
async function startBot (entry: string): Promise<{ bot: BotProcess, link: string }> {
  const cwd = await tempDir('web-bot')
  const bot = new BotProcess({ cwd, env: { BERTYBOT_DATA: join(cwd, 'data'), BERTYBOT_LISTEN: '/ip4/127.0.0.1/tcp/0' }, entry })
  return { bot, link: await bot.link() }
}

/** Opens the link `bertybot web` printed and waits for the list of conversations. */
async function openApp (page: Page, url: string): Promise<void> {
  await page.goto(url)
  await page.locator('.sidebar').waitFor({ timeout: SHOWS_MS })
}

function conversationItem (page: Page, name: string): Locator {
  return page.locator('.conv').filter({ has: page.locator('.conv-name').getByText(name, { exact: true }) })
}

async function openConversation (page: Page, name: string): Promise<void> {
  await conversationItem(page, name).waitFor({ timeout: SHOWS_MS })
  await conversationItem(page, name).click()
  await page.locator('.conversation-title h1').getByText(name, { exact: true }).waitFor()
}

async function send (page: Page, text: string): Promise<void> {
  await page.locator('#composer-input').fill(text)
  await page.locator('#composer-input').press('Enter')
}

/** The message bubble whose text is exactly `text` (ours or theirs), once it shows. */
async function message (page: Page, side: 'own' | 'other', text: string | RegExp, timeoutMs = SHOWS_MS): Promise<Locator> {
  const wanted = { side, text: typeof text === 'string' ? text : null, pattern: typeof text === 'string' ? null : text.source }
  const handle = await page.waitForFunction(({ side, text, pattern }) => {
    const match = (t: string | null | undefined): boolean => typeof t === 'string' && (text !== null ? t === text : new RegExp(pattern ?? '').test(t))
    const found = [...document.querySelectorAll(`.msg--${side}`)].filter((m) => match(m.querySelector('.msg-text')?.textContent))
    return found[found.length - 1]?.getAttribute('data-seq') ?? undefined
  }, wanted, { timeout: timeoutMs }).catch(async (err: unknown) => {
    const shown = await page.locator('.msg-text').evaluateAll((all) => all.slice(-8).map((e) => JSON.stringify((e as unknown as PageElement).textContent?.slice(0, 200))))
    throw new Error(`${(err as Error).message}\nwaiting for ${side === 'own' ? 'our' : 'their'} message ${JSON.stringify(String(text).slice(0, 200))}; the last ones shown:\n${shown.join('\n')}`)
  })
  return page.locator(`.msg[data-seq="${await handle.jsonValue() as string}"]`)
}

/** Adds a contact, `name`, by its link with the Add contact dialog. */
async function addContact (page: Page, link: string, name: string): Promise<void> {
  await page.getByRole('button', { name: 'Add contact' }).click()
  await page.getByLabel('Their contact link').fill(link)
  await page.getByRole('button', { name: 'Send request' }).click()
  // This request's notice: an earlier one's may still be shown.
  await page.locator('.notice').filter({ hasText: `Contact request sent to ${name}.` }).or(page.locator('.notice').filter({ hasText: `Contact request to ${name} saved` })).waitFor({ timeout: SHOWS_MS })
  await page.locator('dialog[open]').waitFor({ state: 'detached' })
}

/** What the page's own link dialog shows: the text of the link (the QR code is checked to have loaded). */
async function ownLink (page: Page): Promise<string> {
  await page.getByRole('button', { name: 'Your link' }).first().click()
  const dialog = page.locator('dialog[open]')
  await dialog.getByRole('img', { name: 'QR code of your contact link' }).waitFor()
  expect(await dialog.locator('.qr img').evaluate((img) => { const i = img as unknown as { complete: boolean, naturalWidth: number }; return i.complete && i.naturalWidth > 0 })).toBe(true)
  const link = await dialog.locator('#copy-field').inputValue()
  await dialog.getByRole('button', { name: 'Copy' }).click()
  await dialog.getByText('Copied.').waitFor()
  await screenshot(page, 'desktop-link-dialog')
  expect(await page.evaluate(async () => await navigator.clipboard.readText())).toBe(link)
  await page.keyboard.press('Escape')
  await dialog.waitFor({ state: 'detached' })
  return link
}

/** Errors the browser reported, but those `allowed`. */
function unexpectedErrors (report: PageReport, allowed: RegExp[] = []): string[] {
  return report.errors.filter((e) => !allowed.some((a) => a.test(e)))
}

/** Dismisses the confirmations still shown, as a person does before looking at the conversation. */
async function dismissNotices (page: Page): Promise<void> {
  const dismiss = page.locator('.toasts').getByRole('button', { name: 'Dismiss' })
  while (await dismiss.count() > 0) await dismiss.first().click()
}

async function screenshot (page: Page, name: string): Promise<void> {
  const path = join(await screenshotsDir(), `${name}.png`)
  await page.screenshot({ path })
  console.log(`screenshot: ${path}`)
}

describe.skipIf(missing !== undefined)('bertybot web, in a browser', () => {
  let browser: Browser
  let web: WebProcess
  let cwd: string
  let dataDir: string
  let page: Page
  let report: PageReport
  const peers: TestPeer[] = []

  beforeAll(async () => {
    await buildWeb()
    browser = await launchBrowser()
    cwd = await tempDir('web')
    dataDir = join(cwd, 'data')
    web = await WebProcess.start({ dataDir, cwd, name: 'alice' })
    ;({ page, report } = await newPage(browser))
    await openApp(page, web.url)
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

  it('adds the echo bot by its link, sends it a message and sees the echo', async () => {
    const { link } = await startBot(ECHO_BOT)
    // The token went into a cookie: the address bar no longer carries it.
    expect(new URL(page.url()).search).toBe('')
    await expect(page.locator('.self-name').textContent()).resolves.toBe('alice')

    await addContact(page, link, 'echo')
    await openConversation(page, 'echo')
    await send(page, 'hello, echo')
    await message(page, 'other', 'hello, echo')
    const mine = await message(page, 'own', 'hello, echo')
    await mine.locator('.msg-state--sent, .msg-state--seen').waitFor({ timeout: SHOWS_MS })
    // The list shows the conversation's last message, from the bot.
    await conversationItem(page, 'echo').locator('.conv-preview').getByText('hello, echo').waitFor()
    expect(unexpectedErrors(report)).toEqual([])
  }, 180_000)

  it('sends /help to a bot with commands, sees its help, then completes a command after "/"', async () => {
    const { link } = await startBot(DICE_BOT)
    await addContact(page, link, 'dice')
    await openConversation(page, 'dice')
    await send(page, '/help')
    const help = await message(page, 'other', /^Commands:\n/)
    const helpText = await help.locator('.msg-text').textContent()
    expect(helpText).toContain('/roll <sides> - roll a die')
    expect(helpText).toContain('/flip - toss a coin')
    // Its lines show as lines.
    expect(await help.locator('.msg-text').evaluate((e) => getComputedStyle(e).whiteSpace)).toBe('pre-wrap')

    // The server read the commands from the help: the header says so, and "/" offers them.
    await page.locator('.conversation-title p').getByText(/3 commands/).waitFor({ timeout: SHOWS_MS })
    const input = page.locator('#composer-input')
    await input.fill('')
    await input.pressSequentially('/')
    const options = page.getByRole('listbox', { name: 'Commands' }).getByRole('option')
    await options.first().waitFor()
    expect(await options.locator('.command-usage').allTextContents()).toEqual(expect.arrayContaining(['/roll <sides>', '/flip', '/help']))
    await screenshot(page, 'desktop-commands')
    await input.press('Escape')
    await page.getByRole('listbox', { name: 'Commands' }).waitFor({ state: 'detached' })

    await input.pressSequentially('r')
    expect(await options.count()).toBe(1)
    await expect(options.first().textContent()).resolves.toContain('roll a die')
    await input.press('Tab')
    expect(await input.inputValue()).toBe('/roll ')
    await input.pressSequentially('20')
    await input.press('Enter')
    await message(page, 'other', /^You rolled \d+ on a d20\.$/)
    expect(await input.inputValue()).toBe('')
    expect(unexpectedErrors(report)).toEqual([])
  }, 180_000)

  it('replies to a message: the composer says to what, the reply shows it quoted, the quote leads to it', async () => {
    await openConversation(page, 'echo')
    const original = await message(page, 'other', 'hello, echo')
    await original.hover()
    await original.getByRole('button', { name: 'Reply to echo' }).click()
    await page.locator('.composer-reply').getByText('Replying to').waitFor()
    await expect(page.locator('.composer-reply').textContent()).resolves.toBe('Replying to echo: hello, echo')
    await send(page, 'this one answers you')
    await page.locator('.composer-reply').waitFor({ state: 'detached' })

    const reply = await message(page, 'own', 'this one answers you')
    await expect(reply.locator('.quote-sender').textContent()).resolves.toBe('echo')
    await expect(reply.locator('.quote-text').textContent()).resolves.toBe('hello, echo')
    await message(page, 'other', 'this one answers you')
    await reply.locator('.quote').click()
    await original.and(page.locator('.msg--highlight')).waitFor()

    // A reply cancelled does not quote.
    const echoed = await message(page, 'other', 'this one answers you')
    await echoed.hover()
    await echoed.getByRole('button', { name: 'Reply to echo' }).click()
    await page.getByRole('button', { name: 'Cancel the reply' }).click()
    await send(page, 'not a reply')
    const plain = await message(page, 'own', 'not a reply')
    expect(await plain.locator('.quote').count()).toBe(0)
    expect(unexpectedErrors(report)).toEqual([])
  }, 120_000)

  it('a group: created, joined by its invitation link, unread counted, members named; screenshots', async () => {
    await page.getByRole('button', { name: 'New group' }).click()
    await page.getByLabel('Group name').fill('Book club')
    await page.getByRole('button', { name: 'Create' }).click()
    await page.locator('.conversation-title h1').getByText('Book club', { exact: true }).waitFor({ timeout: SHOWS_MS })
    await page.getByRole('button', { name: 'Invitation link' }).click()
    const invitation = await page.locator('dialog[open] #copy-field').inputValue()
    expect(invitation).toMatch(/^bertybot:\/\/group\//)
    await page.keyboard.press('Escape')

    const [maya, tom] = await Promise.all([startPeer({ displayName: 'Maya' }), startPeer({ displayName: 'Tom' })])
    peers.push(maya, tom)
    const joined = [maya, tom].map(({ peer }) => new Inbox<MemberJoinedEvent>(peer, 'memberJoined'))
    const tomInbox = new Inbox<MessageEvent>(tom.peer, 'message')
    const [mayas, toms] = await Promise.all([maya.peer.joinGroup(invitation), tom.peer.joinGroup(invitation)])
    await page.locator('.conversation-title p').getByText('3 members').waitFor({ timeout: SHOWS_MS })
    await Promise.all(joined.map(async (inbox) => await inbox.until('both other members to be seen', (events) => new Set(events.map((e) => e.member.account)).size >= 2, SHOWS_MS)))

    // Away from the group, its messages count as unread.
    await openConversation(page, 'dice')
    const first = await mayas.send({ text: 'Has everyone finished "The Left Hand of Darkness"?' })
    await toms.send({ text: 'Almost! Two chapters to go.', replyTo: first })
    const thursday = await mayas.send({ text: 'No spoilers then. Thursday at 7? Details: https://example.org/book-club' })
    const badge = conversationItem(page, 'Book club').locator('.badge')
    await badge.getByText('3').waitFor({ timeout: SHOWS_MS })

    const phone = await newPage(browser, { width: 390, height: 844 })
    await openApp(phone.page, web.url)
    await conversationItem(phone.page, 'Book club').locator('.badge').getByText('3').waitFor({ timeout: SHOWS_MS })
    await screenshot(phone.page, 'phone-list')

    await openConversation(page, 'Book club')
    await badge.waitFor({ state: 'detached' })
    const link = page.locator('.msg-text a')
    await link.waitFor({ timeout: SHOWS_MS })
    expect(await link.getAttribute('href')).toBe('https://example.org/book-club')
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer')
    expect(await link.getAttribute('target')).toBe('_blank')
    // Others' messages carry their names in a group.
    const tomsMessage = await message(page, 'other', 'Almost! Two chapters to go.')
    await expect(tomsMessage.locator('.msg-sender').textContent()).resolves.toBe('Tom')
    await expect(tomsMessage.locator('.quote-sender').textContent()).resolves.toBe('Maya')

    const maysThursday = await message(page, 'other', /^No spoilers then/)
    expect(await maysThursday.getAttribute('data-message-id')).toBe(thursday)
    await maysThursday.hover()
    await maysThursday.getByRole('button', { name: 'Reply to Maya' }).click()
    await send(page, 'Thursday works for me.')
    const alicesReply = (await tomInbox.until('Tom to get Alice\'s reply', (ms) => ms.some((m) => m.text === 'Thursday works for me.'), SHOWS_MS))
      .find((m) => m.text === 'Thursday works for me.')!
    expect(alicesReply.replyTo).toBe(thursday)
    await toms.send({ text: 'Same here. I\'ll bring snacks.', replyTo: alicesReply.id })
    await message(page, 'other', 'Same here. I\'ll bring snacks.')
    await send(page, 'See you all there!\nI\'ll book the table.')
    const last = await message(page, 'own', 'See you all there!\nI\'ll book the table.')
    await last.locator('.msg-state--sent, .msg-state--pending, .msg-state--seen').waitFor({ timeout: SHOWS_MS })
    await dismissNotices(page)
    // The pointer rests on the composer, not over a message (which would show its reply button).
    await page.locator('#composer-input').hover()

    await screenshot(page, 'desktop-light')
    await page.emulateMedia({ colorScheme: 'dark' })
    await screenshot(page, 'desktop-dark')
    await page.emulateMedia({ colorScheme: 'light' })

    await openConversation(phone.page, 'Book club')
    await message(phone.page, 'own', 'See you all there!\nI\'ll book the table.')
    await phone.page.locator('#composer-input').hover()
    await screenshot(phone.page, 'phone-conversation')
    // One pane at a time: the list is hidden while a conversation is open, and Back brings it back.
    expect(await phone.page.locator('.sidebar').isVisible()).toBe(false)
    await phone.page.getByRole('button', { name: 'Back to the conversations' }).click()
    await phone.page.locator('.sidebar').waitFor()
    expect(await phone.page.locator('.conversation').count()).toBe(0)
    expect(unexpectedErrors(phone.report)).toEqual([])
    await phone.context.close()

    // The other dialogs, as far as a person goes with them: invite a contact, add a replica with a bad link.
    await page.getByRole('button', { name: 'Invite a contact' }).click()
    await page.locator('dialog[open]').getByText('echo', { exact: true }).click()
    await page.getByRole('button', { name: 'Invite', exact: true }).click()
    await page.locator('.notice').getByText('Invitation sent to echo.').waitFor({ timeout: SHOWS_MS })
    await page.getByRole('button', { name: 'Add a replica' }).click()
    await page.getByLabel('Replica link').fill('bertybot://replica/not-a-link')
    await page.getByRole('button', { name: 'Add replica', exact: true }).click()
    // Errors are said where the person is, not swallowed.
    await page.locator('dialog[open] .dialog-error').waitFor({ timeout: SHOWS_MS })
    expect((await page.locator('dialog[open] .dialog-error').textContent())?.length).toBeGreaterThan(5)
    await page.keyboard.press('Escape')
    expect(unexpectedErrors(report)).toEqual([])
  }, 240_000)

  it('keeps the history across a restart of bertybot web: the open page reconnects, a new one loads it', async () => {
    await openConversation(page, 'echo')
    const url = web.url
    expect(await web.stop()).toEqual({ code: 0, signal: null })
    await page.locator('.connection-bar').waitFor({ timeout: SHOWS_MS })
    await page.locator('.connection-bar').getByText(/Trying again in/).waitFor({ timeout: SHOWS_MS })
    await screenshot(page, 'desktop-connection-lost')

    web = await WebProcess.start({ dataDir, cwd, name: 'alice' })
    // The port and the token are kept: the open page comes back by itself.
    expect(web.url).toBe(url)
    await page.locator('.connection-bar').waitFor({ state: 'detached', timeout: SHOWS_MS })
    await message(page, 'other', 'this one answers you')

    const fresh = await newPage(browser)
    await openApp(fresh.page, web.url)
    await openConversation(fresh.page, 'echo')
    const reply = await message(fresh.page, 'own', 'this one answers you')
    await expect(reply.locator('.quote-text').textContent()).resolves.toBe('hello, echo')
    await message(fresh.page, 'own', 'hello, echo')
    await openConversation(fresh.page, 'Book club')
    await message(fresh.page, 'other', 'Same here. I\'ll bring snacks.')
    expect(unexpectedErrors(fresh.report)).toEqual([])
    await fresh.context.close()

    // And it still sends.
    await send(page, 'after the restart')
    await message(page, 'other', 'after the restart')
    // The open page saw the socket fail while the server was down: the browser says so, nothing else.
    expect(unexpectedErrors(report, [/WebSocket connection to .* failed/])).toEqual([])
  }, 180_000)

  it('shows hostile names and messages as text: no markup, no script, no javascript: link, no flipped layout', async () => {
    const hostileName = '<img src=x onerror="window.__pwned=1">'
    const link = await ownLink(page)
    const mallory = await startPeer({ displayName: hostileName })
    peers.push(mallory)
    const accepted = new Inbox<ContactAcceptedEvent>(mallory.peer, 'contactAccepted')
    await mallory.peer.addContact(link, { message: '<b>let me in</b><script>window.__pwned=1</script>' })

    const request = page.locator('.request')
    await request.waitFor({ timeout: SHOWS_MS })
    await expect(request.locator('.request-name').textContent()).resolves.toBe(hostileName)
    await expect(request.locator('.request-message').textContent()).resolves.toBe('<b>let me in</b><script>window.__pwned=1</script>')
    await request.getByRole('button', { name: 'Accept' }).click()
    const [contact] = await accepted.count(1, 'the acceptance at the hostile peer', SHOWS_MS)
    // Accepting opens the conversation.
    await page.locator('.conversation-title h1').getByText(hostileName, { exact: true }).waitFor({ timeout: SHOWS_MS })

    const long = `start ${'x'.repeat(4000)} ${'lorem ipsum dolor sit amet '.repeat(1200)}`.slice(0, 29_996) + ' end'
    expect(long).toHaveLength(30_000)
    const texts = [
      '<script>window.__pwned=1</script>',
      'javascript:window.__pwned=1',
      '[x](javascript:alert(1))',
      '<a href="javascript:window.__pwned=1">click</a> <img src=x onerror="window.__pwned=1"> <style>body{display:none}</style>',
      'see https://example.org/a?b=1, not javascript:alert(1) nor data:text/html,<script>alert(1)</script>',
      '\u202Eevil text, reversed \u202E',
      long
    ]
    for (const text of texts) await contact!.group.send({ text })
    for (const text of texts.slice(0, -1)) await message(page, 'other', text)

    // The long one shows its start, and the rest on request, wrapped inside the pane.
    const longMessage = await message(page, 'other', /^start x{1000}x*…$/)
    await longMessage.getByRole('button', { name: /Show more/ }).click()
    await message(page, 'other', long)
    const overflow = await page.locator('.history').evaluate((e) => e.scrollWidth - e.clientWidth)
    expect(overflow).toBeLessThanOrEqual(0)

    expect(await page.evaluate(() => window.__pwned)).toBeUndefined()
    // The page's one script, no image but those the page draws, no style element from a message.
    expect(await page.locator('script').count()).toBe(1)
    expect(await page.locator('img[src="x"], .history img, .sidebar img, style').count()).toBe(0)
    const hrefs = await page.locator('a').evaluateAll((links) => links.map((a) => (a as unknown as { href: string }).href))
    expect(hrefs).toEqual(['https://example.org/a?b=1'])
    await expect(conversationItem(page, hostileName).locator('.conv-name').textContent()).resolves.toBe(hostileName)

    // The override character stays inside its message: the time still sits at the bubble's right end, the header and list where they were.
    const rlo = await message(page, 'other', texts[5] as string)
    const bubble = await rlo.locator('.bubble').boundingBox()
    const time = await rlo.locator('.msg-meta').boundingBox()
    expect(time!.x + time!.width).toBeGreaterThan(bubble!.x + bubble!.width * 0.6)
    expect(await page.locator('.sidebar').evaluate((e) => e.getBoundingClientRect().left)).toBe(0)
    expect(await page.locator('.conversation-title h1').evaluate((e) => getComputedStyle(e).direction)).toBe('ltr')
    await screenshot(page, 'hostile')
    expect(unexpectedErrors(report, [/WebSocket connection to .* failed/])).toEqual([])
  }, 180_000)

  it('keeps other sites out: a page of another origin cannot open the API even with the cookie, and the link without its token is refused', async () => {
    const { port } = new URL(web.url)
    // Another site on the same host: the browser sends our SameSite cookie to it (cookies ignore
    // ports), so only the Origin check stands between that page and the peer.
    const foreign = createServer((_, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<!doctype html><title>elsewhere</title>') })
    await new Promise<void>((resolve) => { foreign.listen(0, '127.0.0.1', resolve) })
    try {
      const other = await page.context().newPage()
      await other.goto(`http://127.0.0.1:${(foreign.address() as AddressInfo).port}/`)
      const outcome = await other.evaluate(async (api) => await new Promise<string>((resolve) => {
        const socket = new (globalThis as unknown as { WebSocket: new (url: string) => { onopen: () => void, onerror: () => void, onclose: () => void } }).WebSocket(api)
        socket.onopen = () => { resolve('opened') }
        socket.onerror = () => { resolve('refused') }
        socket.onclose = () => { resolve('refused') }
      }), `ws://127.0.0.1:${port}/api`)
      expect(outcome).toBe('refused')
      await other.close()
    } finally {
      await new Promise((resolve) => { foreign.close(resolve) })
    }
    // A browser that never had the token: the page is refused and none of it is served.
    const { context: stranger, page: strangerPage } = await newPage(browser)
    try {
      const response = await strangerPage.goto(`http://127.0.0.1:${port}/`)
      expect(response?.status()).toBe(401)
      expect(await strangerPage.locator('script').count()).toBe(0)
    } finally {
      await stranger.close()
    }
    // The page itself still works.
    expect(await page.locator('.sidebar').isVisible()).toBe(true)
    expect(await page.locator('.connection-bar').count()).toBe(0)
  }, 60_000)
})
