import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { checkFeedUrl, fetchFeed, FeedError, MAX_ITEMS, type FeedFetchResult } from '../../bots/announce/feed-reader.ts'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

const servers: Server[] = []

afterEach(async () => {
  await Promise.all(servers.splice(0).map(async (server) => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }))
})

/** A real HTTP server on 127.0.0.1, closed (with its sockets) after the test. */
async function serve (handler: Handler): Promise<{ url: (path: string) => string }> {
  const server = createServer(handler)
  servers.push(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return { url: (path) => `http://127.0.0.1:${port}${path}` }
}

/** Serves one body at every path. */
async function serveBody (body: string, contentType: string, headers: Record<string, string> = {}): Promise<string> {
  const { url } = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': contentType, ...headers }).end(body)
  })
  return url('/blog/feed.xml')
}

async function feedError (promise: Promise<unknown>): Promise<FeedError> {
  const error: unknown = await promise.then(() => undefined, (error: unknown) => error)
  expect(error).toBeInstanceOf(FeedError)
  return error as FeedError
}

async function okItems (url: string): Promise<Extract<FeedFetchResult, { status: 'ok' }>> {
  const result = await fetchFeed(url)
  if (result.status !== 'ok') throw new Error(`expected ok, got ${result.status}`)
  return result
}

const RSS = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>Release notes</title>
    <link>https://example.org/</link>
    <item>
      <title><![CDATA[Version <b>2.0</b> &amp; friends]]></title>
      <link>https://example.org/releases/2.0</link>
      <guid isPermaLink="false">release-2.0</guid>
      <pubDate>Tue, 10 Jun 2025 04:00:00 GMT</pubDate>
    </item>
    <item>
      <title>Caf&#233; &lt;i&gt;opening&lt;/i&gt;</title>
      <link>/posts/cafe</link>
      <dc:date>2025-06-09T12:00:00Z</dc:date>
    </item>
  </channel>
</rss>`

const ATOM = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">Team &lt;em&gt;blog&lt;/em&gt;</title>
  <id>urn:uuid:feed</id>
  <updated>2025-06-10T10:00:00Z</updated>
  <entry>
    <title>First entry</title>
    <link rel="edit" href="https://example.org/edit/1"/>
    <link rel="alternate" href="entries/1"/>
    <id>urn:uuid:entry-1</id>
    <published>2025-06-01T08:00:00Z</published>
    <updated>2025-06-02T08:00:00Z</updated>
  </entry>
  <entry>
    <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Second <b>entry</b></div></title>
    <link href="https://example.org/entries/2"/>
    <id>urn:uuid:entry-2</id>
    <updated>2025-06-03T08:00:00Z</updated>
  </entry>
</feed>`

const JSON_FEED = JSON.stringify({
  version: 'https://jsonfeed.org/version/1.1',
  title: 'Status',
  items: [
    { id: 'incident-7', url: 'https://status.example.org/7', title: 'Resolved', date_published: '2025-06-05T10:00:00Z' },
    { id: 8, external_url: '../elsewhere/8', content_text: 'No title here' },
    'not an item',
    null
  ]
})

const rssWithItems = (items: string[]): string =>
  `<rss version="2.0"><channel><title>t</title>${items.map((item) => `<item>${item}</item>`).join('')}</channel></rss>`

describe('fetchFeed parses feeds', () => {
  it('reads RSS 2.0 items in feed order with ids, plain-text titles, links and dates', async () => {
    const url = await serveBody(RSS, 'application/rss+xml')
    const result = await okItems(url)
    expect(result.title).toBe('Release notes')
    expect(result.items).toEqual([
      { id: 'release-2.0', title: 'Version 2.0 & friends', link: 'https://example.org/releases/2.0', published: new Date('2025-06-10T04:00:00Z') },
      { id: '/posts/cafe', title: 'Café opening', link: new URL('/posts/cafe', url).href, published: new Date('2025-06-09T12:00:00Z') }
    ])
  })

  it('reads Atom entries, preferring the alternate link and the published date', async () => {
    const url = await serveBody(ATOM, 'application/atom+xml')
    const result = await okItems(url)
    expect(result.title).toBe('Team blog')
    expect(result.items).toEqual([
      { id: 'urn:uuid:entry-1', title: 'First entry', link: new URL('/blog/entries/1', url).href, published: new Date('2025-06-01T08:00:00Z') },
      { id: 'urn:uuid:entry-2', title: 'Second entry', link: 'https://example.org/entries/2', published: new Date('2025-06-03T08:00:00Z') }
    ])
  })

  it('reads JSON Feed items and skips entries that are not objects', async () => {
    const url = await serveBody(JSON_FEED, 'application/feed+json')
    const result = await okItems(url)
    expect(result.title).toBe('Status')
    expect(result.items).toEqual([
      { id: 'incident-7', title: 'Resolved', link: 'https://status.example.org/7', published: new Date('2025-06-05T10:00:00Z') },
      { id: '8', title: new URL('/elsewhere/8', url).href, link: new URL('/elsewhere/8', url).href, published: undefined }
    ])
  })

  it('reads RSS 1.0 (RDF) items', async () => {
    const url = await serveBody(`<?xml version="1.0"?>
      <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
        <channel rdf:about="https://example.org/"><title>Old school</title><link>https://example.org/</link><description>d</description></channel>
        <item rdf:about="https://example.org/1"><title>One</title><link>https://example.org/1</link><dc:date>2025-01-01T00:00:00Z</dc:date></item>
      </rdf:RDF>`, 'application/rdf+xml')
    const result = await okItems(url)
    expect(result.items).toEqual([{ id: 'https://example.org/1', title: 'One', link: 'https://example.org/1', published: new Date('2025-01-01T00:00:00Z') }])
  })

  it('resolves relative links against the final URL after a redirect', async () => {
    const { url } = await serve((req, res) => {
      if (req.url === '/old-feed') res.writeHead(301, { location: '/news/rss.xml' }).end()
      else res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(rssWithItems(['<title>a</title><link>item-1</link>']))
    })
    const result = await okItems(url('/old-feed'))
    expect(result.items[0]?.link).toBe(url('/news/item-1'))
  })

  it('gives an item with no guid, link or title a stable id and a placeholder title', async () => {
    const url = await serveBody(rssWithItems(['<description>only text</description><pubDate>Mon, 02 Jun 2025 00:00:00 GMT</pubDate>']), 'text/xml')
    const first = await okItems(url)
    const second = await okItems(url)
    expect(first.items[0]?.id).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(second.items[0]?.id).toBe(first.items[0]?.id)
    expect(first.items[0]?.title).toBe('(untitled)')
  })

  it('decodes common entities in titles and keeps unknown or impossible ones as they are', async () => {
    const url = await serveBody(rssWithItems(['<title><![CDATA[&#x41;&hellip; &rsquo; &constructor; &#99999999; &bogus;]]></title>']), 'text/xml')
    const result = await okItems(url)
    expect(result.items[0]?.title).toBe('A\u2026 \u2019 &constructor; &#99999999; &bogus;')
  })

  it('drops links that are not http(s) and dates that do not parse', async () => {
    const url = await serveBody(rssWithItems(['<title>x</title><link>javascript:alert(1)</link><guid>g</guid><pubDate>someday</pubDate>']), 'text/xml')
    const result = await okItems(url)
    expect(result.items[0]).toEqual({ id: 'g', title: 'x', link: undefined, published: undefined })
  })

  it(`keeps only the first ${MAX_ITEMS} items`, async () => {
    const items = Array.from({ length: MAX_ITEMS + 50 }, (_, index) => `<title>n${index}</title><guid>${index}</guid>`)
    const result = await okItems(await serveBody(rssWithItems(items), 'text/xml'))
    expect(result.items).toHaveLength(MAX_ITEMS)
    expect(result.items[0]?.id).toBe('0')
    expect(result.items.at(-1)?.id).toBe(String(MAX_ITEMS - 1))
  })

  it('decodes a feed in the charset its XML declaration names', async () => {
    const body = Buffer.from(rssWithItems(['<title>Caf\u00e9</title>']).replace('<rss', '<?xml version="1.0" encoding="ISO-8859-1"?><rss'), 'latin1')
    const { url } = await serve((_req, res) => { res.writeHead(200, { 'content-type': 'application/xml' }).end(body) })
    const result = await okItems(url('/'))
    expect(result.items[0]?.title).toBe('Café')
  })
})

describe('fetchFeed and HTTP caching', () => {
  it('answers not-modified when the server matches the ETag it gave', async () => {
    const seen: Array<string | undefined> = []
    const { url } = await serve((req, res) => {
      seen.push(req.headers['if-none-match'])
      if (req.headers['if-none-match'] === '"v1"') res.writeHead(304, { etag: '"v1"' }).end()
      else res.writeHead(200, { etag: '"v1"', 'content-type': 'application/rss+xml' }).end(RSS)
    })
    const first = await fetchFeed(url('/feed'))
    expect(first).toMatchObject({ status: 'ok', validators: { etag: '"v1"' } })
    const second = await fetchFeed(url('/feed'), { validators: first.validators })
    expect(second).toEqual({ status: 'not-modified', validators: { etag: '"v1"' } })
    expect(seen).toEqual([undefined, '"v1"'])
  })

  it('answers not-modified when the server matches the Last-Modified it gave', async () => {
    const lastModified = 'Tue, 10 Jun 2025 04:00:00 GMT'
    const { url } = await serve((req, res) => {
      if (req.headers['if-modified-since'] === lastModified) res.writeHead(304).end()
      else res.writeHead(200, { 'last-modified': lastModified, 'content-type': 'application/rss+xml' }).end(RSS)
    })
    const first = await fetchFeed(url('/feed'))
    expect(first.validators).toEqual({ lastModified })
    const second = await fetchFeed(url('/feed'), { validators: first.validators })
    expect(second).toEqual({ status: 'not-modified', validators: { lastModified } })
  })
})

describe('fetchFeed errors', () => {
  it('reports an HTTP error status as ERR_FEED_HTTP', async () => {
    const { url } = await serve((_req, res) => { res.writeHead(404).end('nothing here') })
    const error = await feedError(fetchFeed(url('/missing.xml')))
    expect(error.code).toBe('ERR_FEED_HTTP')
    expect(error.status).toBe(404)
    expect(error.message).toBe(`${url('/missing.xml')} answered 404 Not Found`)
  })

  it('times out a server that sends headers and never finishes the body, and hangs up', async () => {
    let hungUp: Promise<unknown> | undefined
    const { url } = await serve((req, res) => {
      hungUp = once(req.socket, 'close')
      res.writeHead(200, { 'content-type': 'application/rss+xml' })
      res.write('<rss version="2.0"><channel><title>slow')
    })
    const error = await feedError(fetchFeed(url('/slow'), { timeoutMs: 300 }))
    expect(error.code).toBe('ERR_FEED_TIMEOUT')
    await hungUp // the socket is closed by the reader, not left for the server to time out
  })

  it('rejects malformed XML as ERR_FEED_MALFORMED', async () => {
    const url = await serveBody('<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item><title>a</item></channel>', 'text/xml')
    expect((await feedError(fetchFeed(url))).code).toBe('ERR_FEED_MALFORMED')
  })

  it('rejects an HTML page as ERR_FEED_MALFORMED', async () => {
    const url = await serveBody('<!doctype html><html><head><title>Blog</title></head><body>Hello</body></html>', 'text/html')
    const error = await feedError(fetchFeed(url))
    expect(error.code).toBe('ERR_FEED_MALFORMED')
    expect(error.message).toContain('HTML page')
  })

  it('rejects a declared Content-Length over maxBytes as ERR_FEED_TOO_LARGE without waiting for the body', async () => {
    const { url } = await serve((_req, res) => {
      // Headers promise 10 MB, then nothing comes: only the header can make this fail fast.
      res.writeHead(200, { 'content-type': 'application/rss+xml', 'content-length': String(10_000_000) })
      res.write('<rss version="2.0">')
    })
    const error = await feedError(fetchFeed(url('/huge'), { maxBytes: 1024, timeoutMs: 5_000 }))
    expect(error.code).toBe('ERR_FEED_TOO_LARGE')
  })

  it('stops reading an endless body at maxBytes with ERR_FEED_TOO_LARGE', async () => {
    const chunk = Buffer.alloc(1024, '<!-- padding -->')
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/rss+xml' })
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk)) { /* fill the socket's buffer */ }
        if (!res.destroyed) res.once('drain', pump)
      }
      pump()
    })
    expect((await feedError(fetchFeed(url('/endless'), { maxBytes: 64 * 1024 }))).code).toBe('ERR_FEED_TOO_LARGE')
  })

  it('reports a refused connection as ERR_FEED_NETWORK', async () => {
    const server = createServer()
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as AddressInfo
    await new Promise((resolve) => server.close(resolve))
    const error = await feedError(fetchFeed(`http://127.0.0.1:${port}/feed`))
    expect(error.code).toBe('ERR_FEED_NETWORK')
    expect(error.message).toContain('ECONNREFUSED')
  })

  it('rejects with the caller\'s abort reason, not a FeedError', async () => {
    const controller = new AbortController()
    const reason = new Error('bot is stopping')
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/rss+xml' })
      res.write('<rss version="2.0">')
      controller.abort(reason)
    })
    await expect(fetchFeed(url('/feed'), { signal: controller.signal })).rejects.toBe(reason)
  })

  it('rejects an invalid URL as ERR_FEED_URL without fetching', async () => {
    expect((await feedError(fetchFeed('ftp://example.org/feed'))).code).toBe('ERR_FEED_URL')
  })
})

describe('checkFeedUrl', () => {
  const codeOf = (input: string): unknown => {
    try {
      return checkFeedUrl(input)
    } catch (error) {
      return error instanceof FeedError ? error.code : error
    }
  }

  it('rejects a non-http scheme', () => {
    expect(codeOf('ftp://x')).toBe('ERR_FEED_URL')
  })

  it('rejects text that is not a URL', () => {
    expect(codeOf('not a url')).toBe('ERR_FEED_URL')
  })

  it('accepts an http URL with a port', () => {
    expect(checkFeedUrl('http://127.0.0.1:8080/feed')).toBe('http://127.0.0.1:8080/feed')
  })

  it('normalizes: trims spaces, lowercases the host, drops the fragment', () => {
    expect(checkFeedUrl('  HTTPS://Example.ORG/feed.xml#latest ')).toBe('https://example.org/feed.xml')
  })
})
