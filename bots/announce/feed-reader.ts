/**
 * Fetches and parses one RSS, Atom, RDF or JSON feed for the announcement bot.
 * Everything here comes from a server we do not control: the request is bounded
 * in time and size, and what feedsmith extracts is validated before we trust it.
 *
 * @example
 * const result = await fetchFeed('https://example.org/feed.xml', { validators: saved })
 * if (result.status === 'ok') for (const item of result.items) announce(item)
 */
import { createHash } from 'node:crypto'
import { BertybotError } from 'bertybot'
import { DetectError, MalformedError, parseFeed, type AnyFeed } from 'feedsmith'
import { z } from 'zod'

/** One entry of a feed, reduced to what an announcement needs. */
export interface FeedItem {
  /** Stable across polls: the guid / id, else the link, else `sha256:` of title and date. */
  id: string
  /** Plain text (tags stripped, entities decoded); the link or '(untitled)' when the feed has none. */
  title: string
  /** Absolute http(s) URL; links of other schemes (javascript:, data:) are dropped. */
  link: string | undefined
  published: Date | undefined
}

/** HTTP cache validators: send them back on the next poll so an unchanged feed costs a 304. */
export interface FeedValidators { etag?: string, lastModified?: string }

export type FeedFetchResult =
  | { status: 'not-modified', validators: FeedValidators }
  | { status: 'ok', title: string | undefined, items: FeedItem[], validators: FeedValidators }

export interface FetchFeedOptions {
  validators?: FeedValidators
  /** Covers the whole request, body included. */
  timeoutMs?: number
  maxBytes?: number
  /** Aborting rejects with the signal's reason, not a FeedError. */
  signal?: AbortSignal
  userAgent?: string
}

export type FeedErrorCode =
  | 'ERR_FEED_URL' | 'ERR_FEED_HTTP' | 'ERR_FEED_TIMEOUT' | 'ERR_FEED_NETWORK' | 'ERR_FEED_MALFORMED' | 'ERR_FEED_TOO_LARGE'

/** A feed that could not be read; the message is meant for the admin who subscribed to it. */
export class FeedError extends BertybotError {
  declare readonly code: FeedErrorCode
  /** The HTTP status, for ERR_FEED_HTTP: lets the poller tell 410 Gone from 503. */
  readonly status: number | undefined

  constructor (code: FeedErrorCode, message: string, options?: ErrorOptions & { status?: number }) {
    super(code, message, options)
    this.status = options?.status
  }
}

export const DEFAULT_TIMEOUT_MS = 10_000
export const DEFAULT_MAX_BYTES = 5 * 1024 * 1024
/** More than any real feed keeps; bounds the work a hostile feed can cause per poll. */
export const MAX_ITEMS = 200
const DEFAULT_USER_AGENT = 'bertybot-announce (feed reader)'
const ACCEPT = 'application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, ' +
  'text/xml;q=0.9, application/json;q=0.8, */*;q=0.5'

/**
 * Checks a feed URL given by a user and returns it normalized (fragment dropped).
 * @example checkFeedUrl('https://example.org/feed.xml#top') // 'https://example.org/feed.xml'
 */
export function checkFeedUrl (input: string): string {
  const text = input.trim()
  const url = URL.parse(text)
  if (url === null) throw new FeedError('ERR_FEED_URL', `"${text}" is not a URL: give a full address such as https://example.org/feed.xml`)
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FeedError('ERR_FEED_URL', `${text} is a ${url.protocol.slice(0, -1)} URL: only http and https feeds can be followed`)
  }
  // fetch refuses URLs with credentials; say so now rather than at every poll.
  if (url.username !== '' || url.password !== '') throw new FeedError('ERR_FEED_URL', `${url.host}: URLs with a user name or password are not supported`)
  url.hash = ''
  return url.href
}

/** Fetches and parses one feed; throws FeedError for anything the feed's side got wrong. */
export async function fetchFeed (url: string, options: FetchFeedOptions = {}): Promise<FeedFetchResult> {
  const target = checkFeedUrl(url)
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const timeout = AbortSignal.timeout(timeoutMs)
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal])
  options.signal?.throwIfAborted()
  try {
    const response = await fetch(target, { headers: requestHeaders(options), signal })
    const validators = validatorsOf(response.headers)
    // A body we do not read is cancelled, which frees (or closes) the connection.
    if (response.status === 304 || !response.ok) void response.body?.cancel().catch(() => {})
    if (response.status === 304) return { status: 'not-modified', validators: { ...options.validators, ...validators } }
    if (!response.ok) {
      throw new FeedError('ERR_FEED_HTTP', `${target} answered ${response.status} ${response.statusText}`.trimEnd(), { status: response.status })
    }
    const bytes = await readBody(response, options.maxBytes ?? DEFAULT_MAX_BYTES, target)
    const text = decodeText(bytes, response.headers.get('content-type'))
    // Relative links are relative to where the feed really is, after redirects.
    return { status: 'ok', ...parse(text, target, response.url === '' ? target : response.url), validators }
  } catch (error) {
    if (error instanceof FeedError) throw error
    if (options.signal?.aborted === true) throw options.signal.reason
    if (timeout.aborted) throw new FeedError('ERR_FEED_TIMEOUT', `${target} did not answer within ${timeoutMs} ms`, { cause: error })
    throw new FeedError('ERR_FEED_NETWORK', `fetching ${target} failed: ${describe(error)}`, { cause: error })
  }
}

function requestHeaders (options: FetchFeedOptions): Headers {
  const headers = new Headers({ accept: ACCEPT, 'user-agent': options.userAgent ?? DEFAULT_USER_AGENT })
  if (options.validators?.etag !== undefined) headers.set('if-none-match', options.validators.etag)
  if (options.validators?.lastModified !== undefined) headers.set('if-modified-since', options.validators.lastModified)
  return headers
}

function validatorsOf (headers: Headers): FeedValidators {
  const etag = headers.get('etag')
  const lastModified = headers.get('last-modified')
  return { ...(etag !== null && { etag }), ...(lastModified !== null && { lastModified }) }
}

/** Reads at most maxBytes (after decompression, so a gzip bomb stops too) and hangs up beyond. */
async function readBody (response: Response, maxBytes: number, url: string): Promise<Uint8Array> {
  const tooLarge = (): FeedError => new FeedError('ERR_FEED_TOO_LARGE', `${url} is larger than ${maxBytes} bytes`)
  if (Number(response.headers.get('content-length')) > maxBytes) {
    void response.body?.cancel().catch(() => {})
    throw tooLarge()
  }
  if (response.body === null) return new Uint8Array()
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    size += chunk.value.byteLength
    if (size > maxBytes) {
      void reader.cancel().catch(() => {})
      throw tooLarge()
    }
    chunks.push(chunk.value)
  }
  return Buffer.concat(chunks)
}

/** The charset from Content-Type, else from the XML declaration (older feeds are often ISO-8859-1), else UTF-8. */
function decodeText (bytes: Uint8Array, contentType: string | null): string {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 256))
  const label = /charset\s*=\s*"?([\w.:-]+)/i.exec(contentType ?? '')?.[1] ??
    /^\s*<\?xml[^>]*encoding\s*=\s*["']([\w.:-]+)/i.exec(head)?.[1] ?? 'utf-8'
  try {
    return new TextDecoder(label).decode(bytes)
  } catch { // an unknown label: UTF-8 is the best guess
    return new TextDecoder().decode(bytes)
  }
}

function describe (error: unknown): string {
  // fetch rejects with TypeError('fetch failed'); the reason (ECONNREFUSED, ENOTFOUND, ...) is its cause.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
  if (!(cause instanceof Error)) return String(cause)
  const code = 'code' in cause && typeof cause.code === 'string' ? cause.code : undefined
  return cause.message === '' ? code ?? cause.name : cause.message
}

// What we take out of feedsmith's result, checked: every field falls back to undefined
// rather than failing, so one odd item (or a feedsmith change) never loses the whole feed.
const text = z.string().optional().catch(undefined)
const dublinCore = z.object({ dates: z.array(z.string()).optional().catch(undefined) }).optional().catch(undefined)
const rssItem = z.object({ title: text, link: text, guid: z.object({ value: text }).optional().catch(undefined), pubDate: text, dc: dublinCore })
const atomText = z.object({ value: text }).optional().catch(undefined)
const atomLink = z.object({ href: text, rel: text }).catch({})
const atomEntry = z.object({ id: text, title: atomText, links: z.array(atomLink).optional().catch(undefined), published: text, updated: text })
const rdfItem = z.object({ title: text, link: text, rdf: z.object({ about: text }).optional().catch(undefined), dc: dublinCore })
const jsonItem = z.object({ id: text, url: text, external_url: text, title: text, date_published: text, date_modified: text })

/** An item's fields as the feed gives them, before cleaning. */
interface RawItem { id?: string | undefined, title?: string | undefined, link?: string | undefined, date?: string | undefined }

function parse (body: string, url: string, base: string): { title: string | undefined, items: FeedItem[] } {
  let parsed: AnyFeed
  try {
    parsed = parseFeed(body, { maxItems: MAX_ITEMS })
  } catch (error) {
    const message = error instanceof DetectError
      ? /^\s*(<!doctype html|<html)/i.test(body)
        ? `${url} is an HTML page, not a feed: give the address of the feed itself`
        : `${url} is not an RSS, Atom or JSON feed`
      : error instanceof MalformedError ? `${url} is not well-formed XML` : `${url} has no feed content that can be read`
    throw new FeedError('ERR_FEED_MALFORMED', message, { cause: error })
  }
  const { title, items } = rawFeed(parsed)
  return { title: cleanText(title), items: items.map((raw) => toFeedItem(raw, base)) }
}

function rawFeed (parsed: AnyFeed): { title: string | undefined, items: RawItem[] } {
  switch (parsed.format) {
    case 'rss': return {
      title: text.parse(parsed.feed.title),
      items: each(parsed.feed.items, rssItem, (item) => ({ id: item.guid?.value, title: item.title, link: item.link, date: item.pubDate ?? item.dc?.dates?.[0] }))
    }
    case 'atom': return {
      title: atomText.parse(parsed.feed.title)?.value,
      items: each(parsed.feed.entries, atomEntry, (entry) => ({ id: entry.id, title: entry.title?.value, link: alternateLink(entry.links), date: entry.published ?? entry.updated }))
    }
    case 'rdf': return {
      title: text.parse(parsed.feed.title),
      items: each(parsed.feed.items, rdfItem, (item) => ({ id: item.rdf?.about, title: item.title, link: item.link, date: item.dc?.dates?.[0] }))
    }
    case 'json': return {
      title: text.parse(parsed.feed.title),
      items: each(parsed.feed.items, jsonItem, (item) => ({ id: item.id, title: item.title, link: item.url ?? item.external_url, date: item.date_published ?? item.date_modified }))
    }
  }
}

function each<T> (items: unknown, schema: z.ZodType<T>, read: (item: T) => RawItem): RawItem[] {
  if (!Array.isArray(items)) return []
  return items.slice(0, MAX_ITEMS).flatMap((item) => {
    const checked = schema.safeParse(item)
    return checked.success ? [read(checked.data)] : []
  })
}

/** Atom's link to the entry itself: rel="alternate", which is also what a missing rel means. */
function alternateLink (links: Array<{ href?: string | undefined, rel?: string | undefined }> | undefined): string | undefined {
  return (links?.find((link) => link.href !== undefined && (link.rel ?? 'alternate') === 'alternate') ?? links?.find((link) => link.href !== undefined))?.href
}

function toFeedItem (raw: RawItem, base: string): FeedItem {
  const link = raw.link === undefined ? undefined : URL.parse(raw.link.trim(), base) ?? undefined
  const href = link?.protocol === 'http:' || link?.protocol === 'https:' ? link.href : undefined
  const date = raw.date === undefined ? undefined : new Date(raw.date.trim())
  const id = nonEmpty(raw.id) ?? nonEmpty(raw.link) ??
    `sha256:${createHash('sha256').update(`${raw.title ?? ''}\n${raw.date ?? ''}`).digest('hex')}`
  return {
    id,
    title: cleanText(raw.title) ?? href ?? '(untitled)',
    link: href,
    published: date === undefined || Number.isNaN(date.getTime()) ? undefined : date
  }
}

function nonEmpty (value: string | undefined): string | undefined {
  const trimmed = value?.trim()
  return trimmed === '' ? undefined : trimmed
}

// XML's five, plus the typographic ones blogs put in titles. A Map, not an object literal:
// `&constructor;` must not find Object.prototype's.
const NAMED_ENTITIES = new Map(Object.entries({
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', hellip: '\u2026', mdash: '\u2014', ndash: '\u2013',
  lsquo: '\u2018', rsquo: '\u2019', ldquo: '\u201c', rdquo: '\u201d', laquo: '\u00ab', raquo: '\u00bb', copy: '\u00a9'
}))

/** Titles are often HTML: strip tags, then decode the entities feedsmith leaves (CDATA, double escaping). */
function cleanText (value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const plain = value
    .replace(/<!--[\s\S]*?-->|<\/?[a-z][^>]*>/gi, '')
    .replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]+);/gi, decodeEntity)
    .replace(/\s+/g, ' ')
    .trim()
  return plain === '' ? undefined : plain
}

function decodeEntity (entity: string, name: string): string {
  if (!name.startsWith('#')) return NAMED_ENTITIES.get(name.toLowerCase()) ?? entity
  const codePoint = /^#x/i.test(name) ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10)
  // A hostile feed can name any number: keep what is not a valid character as it was.
  const valid = codePoint > 0 && codePoint <= 0x10ffff && (codePoint < 0xd800 || codePoint > 0xdfff)
  return valid ? String.fromCodePoint(codePoint) : entity
}
