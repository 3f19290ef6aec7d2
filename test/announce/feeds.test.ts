import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { MessageEvent } from 'bertybot/protocol'
import { createTestNetwork, ManualClock, type TestNetwork, type TestUser } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { ask, meet, startAnnounceBot } from './helpers.ts'

const MINUTE = 60_000

/** A feed server on 127.0.0.1 whose routes the test changes as it goes. */
class FeedServer {
  readonly requests: Array<{ path: string, ifNoneMatch: string | undefined, status: number | 'hung' }> = []
  readonly #routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => number | 'hung'>()
  readonly #hung = new Set<ServerResponse>()
  readonly #server: Server
  #waiters: Array<() => void> = []

  constructor () {
    this.#server = createServer((req, res) => {
      const route = this.#routes.get(req.url ?? '')
      const status = route === undefined ? this.#send(res, 404, 'text/plain', 'no such feed') : route(req, res)
      if (status === 'hung') this.#hung.add(res)
      this.requests.push({ path: req.url ?? '', ifNoneMatch: req.headers['if-none-match'], status })
      for (const wake of this.#waiters) wake()
    })
  }

  async listen (): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
  }

  url (path: string): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}${path}`
  }

  /** Serves RSS items (newest first) with an ETag, answering 304 when the reader has it already. */
  rss (path: string, title: string, items: string[]): void {
    const body = `<?xml version="1.0"?><rss version="2.0"><channel><title>${title}</title><link>https://example.org/</link><description>news</description>${
      items.map((item) => `<item><title>${item}</title><link>https://example.org/${encodeURIComponent(item)}</link><guid>${item}</guid></item>`).join('')
    }</channel></rss>`
    const etag = `"${items.length}-${items[0] ?? ''}"`
    this.#routes.set(path, (req, res) => {
      if (req.headers['if-none-match'] === etag) return this.#send(res, 304, undefined, '', { etag })
      return this.#send(res, 200, 'application/rss+xml', body, { etag })
    })
  }

  serve (path: string, status: number, body: string): void {
    this.#routes.set(path, (_req, res) => this.#send(res, status, 'application/rss+xml', body))
  }

  /** Takes the request and never answers. */
  hang (path: string): void {
    this.#routes.set(path, () => 'hung')
  }

  /** Resolves once `count` requests for `path` have come. */
  async requested (path: string, count: number, timeoutMs = 30_000): Promise<void> {
    const enough = (): boolean => this.requests.filter((r) => r.path === path).length >= count
    if (enough()) return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`${path} was requested ${this.requests.filter((r) => r.path === path).length} times, not ${count}, within ${timeoutMs} ms`)) }, timeoutMs)
      const check = (): void => {
        if (!enough()) return
        clearTimeout(timer)
        this.#waiters = this.#waiters.filter((w) => w !== check)
        resolve()
      }
      this.#waiters.push(check)
    })
  }

  async close (): Promise<void> {
    for (const res of this.#hung) res.destroy()
    this.#server.closeAllConnections()
    await new Promise((resolve) => this.#server.close(resolve))
  }

  #send (res: ServerResponse, status: number, type: string | undefined, body: string, headers: Record<string, string> = {}): number {
    res.writeHead(status, { ...headers, ...(type === undefined ? {} : { 'content-type': type }) })
    res.end(body)
    return status
  }
}

/** Everything a user gets in the open conversation, kept in order. */
function collect (user: TestUser): { texts: string[], until: (predicate: (texts: string[]) => boolean, timeoutMs?: number) => Promise<void> } {
  const group = user.conversation
  const texts: string[] = []
  let wake = (): void => {}
  user.peer.on('message', (m: MessageEvent) => {
    if (m.group.id !== group?.id) return
    texts.push(m.text)
    wake()
  })
  return {
    texts,
    until: async (predicate, timeoutMs = 30_000) => {
      if (predicate(texts)) return
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error(`not seen within ${timeoutMs} ms; got:\n${texts.join('\n---\n')}`)) }, timeoutMs)
        wake = () => {
          if (!predicate(texts)) return
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }
}

let network: TestNetwork
let server: FeedServer
afterEach(async () => {
  await network.stop()
  await server.close()
})

describe('the announcement bot\'s feeds', () => {
  it('announces each new item once, with conditional requests, also across a restart', async () => {
    server = new FeedServer()
    await server.listen()
    const feed = server.url('/news.xml')
    server.rss('/news.xml', 'Example News', ['Welcome', 'Launch'])
    network = await createTestNetwork()
    const clock = new ManualClock(new Date('2026-11-24T08:00:00Z'))
    const admin = await network.user('admin')
    const reader = await network.user('reader')
    const dataDir = await network.tempDir('announce')
    const first = await startAnnounceBot(network, { admins: [admin], clock, dataDir })
    await meet(admin, first.bot)
    await meet(reader, first.bot)
    expect(await ask(reader, '/subscribe')).toMatch(/^Subscribed/)

    expect(await ask(admin, `/feed add ${feed}`))
      .toBe(`Feed #1 added: I check ${feed} every 15m; its new items go to everyone. What it lists now is not announced, only what comes next.`)
    // The first check reads what the feed lists now, and announces none of it.
    await expect.poll(async () => await ask(admin, '/feed list'), { timeout: 30_000 })
      .toBe(`#1 (Example News) · ${feed} · every 15m · to everyone · ok`)

    server.rss('/news.xml', 'Example News', ['Release 1.1', 'Welcome', 'Launch'])
    await clock.advance(15 * MINUTE)
    expect(await reader.nextReply()).toBe('[Example News] Release 1.1\nhttps://example.org/Release%201.1')

    // Unchanged: the server says so (304), and nothing is announced.
    await clock.advance(15 * MINUTE)
    await server.requested('/news.xml', 3)
    expect(server.requests.at(-1)).toMatchObject({ ifNoneMatch: '"3-Release 1.1"', status: 304 })

    // A new item while the bot is down: announced once after the restart, and the old ones not again.
    await first.bot.stop()
    server.rss('/news.xml', 'Example News', ['Release 1.2', 'Release 1.1', 'Welcome', 'Launch'])
    await clock.advance(60 * MINUTE)
    await startAnnounceBot(network, { admins: [admin], clock, dataDir })
    expect(await reader.nextReply()).toBe('[Example News] Release 1.2\nhttps://example.org/Release%201.2')
    expect(await ask(admin, '/announce now Probe')).toBe('Sent to 1 conversation.')
    expect(await reader.nextReply()).toBe('Probe')
  })

  it('tells the admins once when a feed fails (404, no answer, malformed XML) and when it works again; the bot keeps answering', async () => {
    server = new FeedServer()
    await server.listen()
    server.serve('/gone.xml', 404, 'not here')
    server.hang('/slow.xml')
    server.serve('/broken.xml', 200, '<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title><item><title>oops</channel>')
    // The failing checks are logged as warnings: expected here.
    network = await createTestNetwork({ logLevel: 'error' })
    const clock = new ManualClock(new Date('2026-11-24T08:00:00Z'))
    const admin = await network.user('admin')
    const { bot } = await startAnnounceBot(network, { admins: [admin], clock, settings: { feedTimeoutMs: 3_000 } })
    await meet(admin, bot)
    const heard = collect(admin)

    for (const path of ['/gone.xml', '/slow.xml', '/broken.xml']) {
      await admin.send(`/feed add ${server.url(path)}`)
    }
    // While the hanging feed waits for its answer, the bot answers.
    await server.requested('/slow.xml', 1)
    await admin.send('/channels')
    await heard.until((texts) => texts.includes('No channels yet: /channel new <name> makes one.\nSubscribers: 0'))
    expect(server.requests.filter((r) => r.path === '/slow.xml')).toHaveLength(1)
    const failures = (texts: string[]): string[] => texts.filter((t) => / fails: /.test(t))
    await heard.until((texts) => failures(texts).length === 3)
    expect(failures(heard.texts).sort()).toEqual([
      `Feed #1 (${server.url('/gone.xml')}) fails: ${server.url('/gone.xml')} answered 404 Not Found. I keep trying, and will tell you when it works again.`,
      `Feed #2 (${server.url('/slow.xml')}) fails: ${server.url('/slow.xml')} did not answer within 3000 ms. I keep trying, and will tell you when it works again.`,
      expect.stringMatching(new RegExp(`^Feed #3 \\(${server.url('/broken.xml').replace(/[.?]/g, '\\$&')}\\) fails: .+\\. I keep trying, and will tell you when it works again\\.$`))
    ].sort())

    // Still failing at the next check: nobody is told again.
    await clock.advance(15 * MINUTE)
    for (const path of ['/gone.xml', '/slow.xml', '/broken.xml']) await server.requested(path, 2)
    // Then they mend. Each feed is checked in turn, so a second failure notice
    // would have come before its "works again".
    server.rss('/gone.xml', 'Gone', ['a'])
    server.rss('/slow.xml', 'Slow', ['b'])
    server.rss('/broken.xml', 'Broken', ['c'])
    await clock.advance(15 * MINUTE)
    await heard.until((texts) => texts.filter((t) => /\) works again\.$/.test(t)).length === 3)
    expect(failures(heard.texts)).toHaveLength(3)
    await admin.send('/feed list')
    await heard.until((texts) => texts.some((t) => /^#1 \(Gone\) · .* · ok\n#2 \(Slow\) · .* · ok\n#3 \(Broken\) · .* · ok$/.test(t)))
  })
})
