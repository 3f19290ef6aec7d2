/**
 * The web client, for `npm run bench` (BENCH_ONLY=web): `bertybot web` in a
 * process of its own, as a person starts it, and its page in Chromium
 * (playwright-core; BERTYBOT_CHROMIUM or /usr/bin/chromium).
 *
 * Set up once: the web client's account gets BENCH_WEB_CONVERSATIONS
 * conversations (20): one contact, a plain peer of the protocol in this
 * process that sends BENCH_WEB_MESSAGES (10 000) messages in their contact
 * group, the web client storing each in its history as it arrives; and
 * groups the client creates, with one message each, written through the
 * page's API (the WebSocket the page uses), so that each has a last message.
 *
 * - start: from spawning `bertybot web` on that data directory to the page,
 *   opened at the link it printed, showing every conversation in its list;
 *   also split in the process's part (until the link is printed) and the
 *   page's (from opening the link to the full list);
 * - long history: from clicking the contact's conversation to its newest
 *   message shown (a first page of 50), then five pages back: scrolled to the
 *   top, until the 50 older messages show, each.
 *
 * Each of BENCH_ROUNDS rounds starts the process again and opens the page in
 * a fresh browser context (no cache, no cookie).
 *
 * Baseline: plain @orbitdb/core holding an events log of the same size on
 * disk, started afresh each round: from start to the log opened, then its
 * newest 50 entries read, then five pages of 50 older ones (what a client built
 * on the log alone would read to show the same screens; no page drawn).
 *
 * Targets (the issue gives none; these are the usual bounds of a page that
 * feels immediate): the newest messages of the long history within 1 s of the
 * click, a page back within 0.25 s, the whole start within 5 s.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createLogger, createPeer, type ContactAcceptedEvent, type Peer } from 'bertybot/protocol'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { Database } from '@orbitdb/core'
import { buildWeb } from '../src/web/build.ts'
import { startPlainOrbitDB } from '../test/helpers/plain-orbitdb.ts'
import { envNumber, now, removeDirs, showSpread, spread, tempDir, verdict, type Section, type Spread } from './shared.ts'

const CONVERSATIONS = envNumber('BENCH_WEB_CONVERSATIONS', 20)
const MESSAGES = envNumber('BENCH_WEB_MESSAGES', 10_000)
const ROUNDS = envNumber('BENCH_ROUNDS', 3)
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT', 300) * 1000
const PAGES_BACK = 5
const PAGE_SIZE = 50
const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))
const CHROMIUM = process.env.BERTYBOT_CHROMIUM ?? '/usr/bin/chromium'
const TARGET_FIRST_SCREEN_S = 1
const TARGET_PAGE_BACK_S = 0.25
const TARGET_START_S = 5
const LINK = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+)\n/

function log (line: string): void {
  process.stderr.write(`web: ${line}\n`)
}

/** `bertybot web` started as a person starts it; resolves once it printed its link. */
class WebProcess {
  readonly child: ChildProcess
  readonly spawnedAt: number
  readonly url: Promise<{ url: string, at: number }>
  #stderr = ''

  constructor (dataDir: string) {
    this.spawnedAt = now()
    this.child = spawn(process.execPath, ['--conditions=bertybot-source', CLI, 'web', '--data', dataDir, '--name', 'bench'], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { this.#stderr = (this.#stderr + chunk).slice(-4000) })
    this.url = new Promise((resolve, reject) => {
      let stdout = ''
      const timer = setTimeout(() => { reject(new Error(`bertybot web printed no link within ${TIMEOUT_MS / 1000} s: ${this.#stderr}`)) }, TIMEOUT_MS)
      this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk
        const match = LINK.exec(stdout)
        if (match?.[1] !== undefined) { clearTimeout(timer); resolve({ url: match[1], at: now() }) }
      })
      this.child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`bertybot web exited (${code}) before it printed its link: ${this.#stderr}`)) })
    })
  }

  async stop (): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise((resolve) => { this.child.once('exit', resolve) })
    this.child.kill('SIGTERM')
    await exited
  }
}

/** The page's API from here, as the page speaks it: requests over the WebSocket, the token in the address instead of a cookie. */
class Api {
  readonly #socket: WebSocket
  #next = 1
  readonly #waiting = new Map<number, { resolve: (result: any) => void, reject: (err: Error) => void }>()
  readonly #listeners = new Set<(event: { event: string, data: any }) => void>()

  private constructor (socket: WebSocket) {
    this.#socket = socket
    socket.addEventListener('message', (m) => {
      const message = JSON.parse(String(m.data))
      if ('event' in message) {
        for (const listener of this.#listeners) listener(message)
        return
      }
      const waiting = this.#waiting.get(message.id)
      this.#waiting.delete(message.id)
      if (message.error !== undefined) waiting?.reject(new Error(`${message.error.code}: ${message.error.message}`))
      else waiting?.resolve(message.result)
    })
  }

  static async open (url: string): Promise<Api> {
    const address = new URL(url)
    const socket = new WebSocket(`ws://${address.host}/api${address.search}`)
    await new Promise((resolve, reject) => {
      socket.addEventListener('open', resolve, { once: true })
      socket.addEventListener('error', () => { reject(new Error(`could not open the API socket at ${address.host}`)) }, { once: true })
    })
    return new Api(socket)
  }

  async call (method: string, params: Record<string, unknown>): Promise<any> {
    const id = this.#next++
    return await new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject })
      this.#socket.send(JSON.stringify({ id, method, params }))
    })
  }

  /** Resolves with the first event `test` accepts. */
  async until<T> (what: string, test: (event: { event: string, data: any }) => T | undefined): Promise<T> {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.#listeners.delete(listener); reject(new Error(`no ${what} within ${TIMEOUT_MS / 1000} s`)) }, TIMEOUT_MS)
      const listener = (event: { event: string, data: any }): void => {
        const value = test(event)
        if (value === undefined) return
        clearTimeout(timer)
        this.#listeners.delete(listener)
        resolve(value)
      }
      this.#listeners.add(listener)
    })
  }

  close (): void {
    this.#socket.close()
  }
}

interface Setup { dataDir: string, talkerName: string, setupS: { contact: number, messages: number, stored: number, groups: number } }

/** The data directory with its conversations: the contact with its long history, and the groups. */
async function setUp (dirs: string[]): Promise<Setup> {
  const dataDir = join(await tempDir(), 'data')
  const talkerDir = await tempDir()
  dirs.push(dataDir, talkerDir)
  const web = new WebProcess(dataDir)
  let talker: Peer | undefined
  try {
    const { url } = await web.url
    const api = await Api.open(url)
    const talkerName = 'talker'
    talker = await createPeer({ dataDir: talkerDir, displayName: talkerName, logger: createLogger({ level: 'warn' }) })
    const start = now()
    const accepted = new Promise<ContactAcceptedEvent>((resolve) => { talker?.on('contactAccepted', resolve) })
    talker.on('contactRequest', (request) => { void request.accept() })
    await api.call('addContact', { link: talker.contactLink() })
    const { group } = await accepted
    const contactS = (now() - start) / 1000
    log(`the contact is there after ${contactS.toFixed(1)} s; it sends ${MESSAGES} messages...`)

    const last = `message ${MESSAGES}`
    const stored = api.until('summary with the last message', (e) => e.event === 'conversation' && e.data.last?.text === last ? true : undefined)
    const sending = now()
    for (let i = 1; i <= MESSAGES; i++) {
      await group.send({ text: `message ${i}` })
      if (i % 1000 === 0) log(`sent ${i}`)
    }
    const messagesS = (now() - sending) / 1000
    await stored
    const storedS = (now() - sending) / 1000
    log(`sent in ${messagesS.toFixed(1)} s, all in the web client's history after ${storedS.toFixed(1)} s; creating ${CONVERSATIONS - 1} groups...`)

    const groupsStart = now()
    for (let i = 1; i < CONVERSATIONS; i++) {
      const { conversation } = await api.call('createGroup', { name: `group ${i}` })
      await api.call('send', { conversation, text: `the first message of group ${i}` })
    }
    const groupsS = (now() - groupsStart) / 1000
    api.close()
    return { dataDir, talkerName, setupS: { contact: contactS, messages: messagesS, stored: storedS, groups: groupsS } }
  } finally {
    await talker?.stop()
    await web.stop()
  }
}

interface Round { processS?: number, pageS?: number, startS?: number, firstScreenS?: number, pagesBackS: number[], failure?: string }

/** Until the page holds at least `count` elements matching `selector` (a locator: the page's CSP forbids evaluating strings). */
async function untilCount (page: Page, selector: string, count: number): Promise<void> {
  await page.locator(selector).nth(count - 1).waitFor({ state: 'attached', timeout: TIMEOUT_MS })
}

async function measure (browser: Browser, setup: Setup): Promise<Round> {
  const round: Round = { pagesBackS: [] }
  const web = new WebProcess(setup.dataDir)
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  try {
    const { url, at: printedAt } = await web.url
    round.processS = (printedAt - web.spawnedAt) / 1000
    const page = await context.newPage()
    const opening = now()
    await page.goto(url)
    await untilCount(page, '.conv', CONVERSATIONS)
    const listed = now()
    round.pageS = (listed - opening) / 1000
    round.startS = (listed - web.spawnedAt) / 1000

    const item = page.locator('.conv').filter({ has: page.locator('.conv-name').getByText(setup.talkerName, { exact: true }) })
    const clicked = now()
    await item.click()
    await page.locator('.msg-text').filter({ hasText: new RegExp(`^message ${MESSAGES}$`) }).waitFor({ timeout: TIMEOUT_MS })
    round.firstScreenS = (now() - clicked) / 1000
    for (let p = 1; p <= PAGES_BACK; p++) {
      const shown = await page.locator('.msg').count()
      const scrolled = now()
      await page.locator('.history').evaluate((history) => { history.scrollTop = 0 })
      await untilCount(page, '.msg', shown + PAGE_SIZE)
      round.pagesBackS.push((now() - scrolled) / 1000)
    }
    const oldest = await page.locator('.msg-text').first().textContent()
    const expected = `message ${MESSAGES - PAGE_SIZE * (PAGES_BACK + 1) + 1}`
    if (oldest !== expected) round.failure = `after ${PAGES_BACK} pages back the oldest message shown is "${oldest}", not "${expected}"`
  } catch (err) {
    round.failure = err instanceof Error ? err.message : String(err)
  } finally {
    await context.close()
    await web.stop()
  }
  log(round.failure ?? `start ${round.startS?.toFixed(2)} s (process ${round.processS?.toFixed(2)}, page ${round.pageS?.toFixed(2)}), first screen ${round.firstScreenS?.toFixed(3)} s, pages back ${round.pagesBackS.map((s) => s.toFixed(3)).join(' ')} s`)
  return round
}

interface PlainRound { openS: number, newestS: number, pagesBackS: number[], failure?: string }

/** A plain OrbitDB events log of MESSAGES entries, written once. */
async function setUpPlain (dirs: string[]): Promise<{ dir: string, address: string }> {
  const dir = await tempDir()
  dirs.push(dir)
  const plain = await startPlainOrbitDB(dir)
  try {
    const db: Database = await plain.orbitdb.open('bench-web-history')
    for (let i = 1; i <= MESSAGES; i++) {
      await db.add(`message ${i}`)
      if (i % 2000 === 0) log(`plain: wrote ${i}`)
    }
    const address = db.address
    await db.close()
    return { dir, address }
  } finally {
    await plain.stop()
  }
}

async function page (db: Database, lt: string | undefined): Promise<Array<{ hash: string, value: unknown }>> {
  const entries: Array<{ hash: string, value: unknown }> = []
  for await (const entry of db.iterator({ amount: PAGE_SIZE, ...(lt === undefined ? {} : { lt }) })) entries.push(entry)
  return entries
}

async function measurePlain (plainLog: { dir: string, address: string }): Promise<PlainRound> {
  const started = now()
  const plain = await startPlainOrbitDB(plainLog.dir)
  const round: PlainRound = { openS: 0, newestS: 0, pagesBackS: [] }
  try {
    const db: Database = await plain.orbitdb.open(plainLog.address)
    round.openS = (now() - started) / 1000
    let reading = now()
    let shown = await page(db, undefined)
    round.newestS = (now() - reading) / 1000
    if (shown[0]?.value !== `message ${MESSAGES}`) round.failure = `plain: the newest entry is ${String(shown[0]?.value)}`
    for (let p = 1; p <= PAGES_BACK; p++) {
      reading = now()
      shown = await page(db, shown.at(-1)?.hash)
      round.pagesBackS.push((now() - reading) / 1000)
    }
    const expected = `message ${MESSAGES - PAGE_SIZE * (PAGES_BACK + 1) + 1}`
    if (shown.at(-1)?.value !== expected) round.failure = `plain: after ${PAGES_BACK} pages back the oldest entry is ${String(shown.at(-1)?.value)}, not ${expected}`
    await db.close()
  } catch (err) {
    round.failure = err instanceof Error ? err.message : String(err)
  } finally {
    await plain.stop()
  }
  log(round.failure ?? `plain: open ${round.openS.toFixed(2)} s, newest ${(round.newestS * 1000).toFixed(0)} ms, pages back ${round.pagesBackS.map((s) => (s * 1000).toFixed(0)).join(' ')} ms`)
  return round
}

export async function web (): Promise<Section> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (set BERTYBOT_CHROMIUM to its path)`)
  await buildWeb()
  const dirs: string[] = []
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] })
  try {
    log(`setting up: 1 contact with ${MESSAGES} messages and ${CONVERSATIONS - 1} groups...`)
    const setup = await setUp(dirs)
    log(`plain @orbitdb/core: writing a log of ${MESSAGES} entries...`)
    const plainLog = await setUpPlain(dirs)
    const rounds: Round[] = []
    const plainRounds: PlainRound[] = []
    for (let r = 1; r <= ROUNDS; r++) {
      log(`round ${r} of ${ROUNDS}`)
      rounds.push(await measure(browser, setup))
      plainRounds.push(await measurePlain(plainLog))
    }
    const figures: Record<string, Spread | undefined> = {
      startS: spread(rounds.map((r) => r.startS)),
      processS: spread(rounds.map((r) => r.processS)),
      pageS: spread(rounds.map((r) => r.pageS)),
      firstScreenS: spread(rounds.map((r) => r.firstScreenS)),
      pageBackS: spread(rounds.flatMap((r) => r.pagesBackS)),
      pagesBackTotalS: spread(rounds.map((r) => r.pagesBackS.length === PAGES_BACK ? r.pagesBackS.reduce((a, b) => a + b, 0) : undefined))
    }
    const plain: Record<string, Spread | undefined> = {
      openS: spread(plainRounds.map((r) => r.failure === undefined ? r.openS : undefined)),
      newestS: spread(plainRounds.map((r) => r.failure === undefined ? r.newestS : undefined)),
      pageBackS: spread(plainRounds.flatMap((r) => r.failure === undefined ? r.pagesBackS : [])),
      pagesBackTotalS: spread(plainRounds.map((r) => r.failure === undefined ? r.pagesBackS.reduce((a, b) => a + b, 0) : undefined))
    }
    const ratio = (ours: Spread | undefined, theirs: Spread | undefined): string => ours === undefined || theirs === undefined || theirs.median === 0 ? 'n/a' : `${(ours.median / theirs.median).toFixed(2)}x`
    const ms = (s: Spread | undefined): Spread | undefined => s === undefined ? undefined : { ...s, median: s.median * 1000, min: s.min * 1000, max: s.max * 1000 }
    const row = (label: string, s: Spread | undefined, unit: 's' | 'ms'): string => `${label.padEnd(58)}${(unit === 's' ? showSpread(s, 2) : showSpread(ms(s), 0)).padStart(22)} ${unit}`
    const failures = [...rounds, ...plainRounds].flatMap((r, i) => r.failure === undefined ? [] : [`round ${(i % ROUNDS) + 1}: ${r.failure}`])
    const clean = failures.length === 0
    const lines = [
      `web: bertybot web and its page in Chromium; ${CONVERSATIONS} conversations (1 contact with ${MESSAGES} messages, ${CONVERSATIONS - 1} groups); medians of ${ROUNDS} rounds (min–max)`,
      `set up once: contact accepted ${setup.setupS.contact.toFixed(1)} s, ${MESSAGES} messages sent ${setup.setupS.messages.toFixed(1)} s, all stored by the web client ${setup.setupS.stored.toFixed(1)} s after the first was sent, groups ${setup.setupS.groups.toFixed(1)} s`,
      row('start: spawn to the page listing every conversation', figures.startS, 's'),
      row('  of which the process, until it printed its link', figures.processS, 's'),
      row('  of which the page, from opening the link', figures.pageS, 's'),
      row(`open the contact (${MESSAGES} messages): newest shown`, figures.firstScreenS, 'ms'),
      row(`one page back (${PAGE_SIZE} older messages), over ${PAGES_BACK} per round`, figures.pageBackS, 'ms'),
      row(`${PAGES_BACK} pages back, in all`, figures.pagesBackTotalS, 'ms'),
      `plain @orbitdb/core, a log of ${MESSAGES} entries on disk, read, not drawn:`,
      row('  start to the log opened', plain.openS, 's'),
      row(`  newest ${PAGE_SIZE} read`, plain.newestS, 'ms'),
      row(`  one page back (${PAGE_SIZE} older)`, plain.pageBackS, 'ms'),
      row(`  ${PAGES_BACK} pages back, in all`, plain.pagesBackTotalS, 'ms'),
      `ratio (bertybot web, drawn / plain, read): start ${ratio(figures.startS, plain.openS)} (plain opens in this process, with no process to start), newest ${ratio(figures.firstScreenS, plain.newestS)}, a page back ${ratio(figures.pageBackS, plain.pageBackS)}`,
      `target: the newest messages of ${MESSAGES} shown within ${TARGET_FIRST_SCREEN_S} s of the click: ${verdict(clean && figures.firstScreenS !== undefined && figures.firstScreenS.median < TARGET_FIRST_SCREEN_S)}`,
      `target: a page back within ${TARGET_PAGE_BACK_S} s: ${verdict(clean && figures.pageBackS !== undefined && figures.pageBackS.median < TARGET_PAGE_BACK_S)}`,
      `target: from start to the conversations listed within ${TARGET_START_S} s: ${verdict(clean && figures.startS !== undefined && figures.startS.median < TARGET_START_S)}`
    ]
    if (failures.length > 0) lines.push('failures:', ...failures.map((f) => `  ${f}`))
    return { json: { conversations: CONVERSATIONS, messages: MESSAGES, rounds: ROUNDS, setup: setup.setupS, ...figures, plain, failures }, lines }
  } finally {
    await browser.close()
    await removeDirs(dirs)
  }
}

if (import.meta.main) {
  const section = await web()
  console.log(process.env.BENCH_JSON === '1' ? JSON.stringify(section.json) : section.lines.join('\n'))
}
