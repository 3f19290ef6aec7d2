/**
 * Files over HTTP, on the page's own origin, behind the server's checks
 * (token or cookie, Host, Origin: `server.ts` runs them on every request):
 *
 * - `GET /files/<conversation>/<seq>/<index>` streams a file a message
 *   carries, as the client reads it from the peer (fetched, checked and
 *   decrypted as it comes; at most the peer's `maxFileSize`).
 * - `GET /files/<conversation>/<seq>/<index>/preview`: the preview an
 *   image's sender gave.
 * - `POST /files/<conversation>` (multipart: `size`, `replyTo`, then
 *   `preview`, then `file`) sends a file; answered as `uploadResult`.
 *
 * Why serving what others sent is safe here: the sender's media type is
 * used only when it is a raster image a browser shows as such (PNG, JPEG,
 * GIF, WebP, AVIF), served `inline`; anything else, SVG and HTML included, is
 * `application/octet-stream` with `Content-Disposition: attachment`, so the
 * browser saves it and never renders it. Every answer carries `nosniff` (no
 * guessing another type), a Content-Security-Policy of its own that runs
 * nothing (`default-src 'none'; sandbox`: opened in a tab, a file is a
 * sandboxed document of no origin), and `Cross-Origin-Resource-Policy:
 * same-origin`. The page's own CSP does not change: its images and
 * downloads come from 'self'.
 */
import { Readable } from 'node:stream'
import multipart from '@fastify/multipart'
import { create as contentDisposition } from 'content-disposition'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { z } from 'zod'
import { ClientError, type ChatClient, type FileToRead } from '../client/index.ts'
import { BertybotError, MAX_PREVIEW_BYTES, type Logger } from '../protocol/index.ts'
import type { ErrorBody } from './api.ts'

/** What a browser shows inline as an image, and nothing else: no SVG (a document that can hold script). */
export const INLINE_IMAGE_TYPES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif'])
/** A file's own answers run nothing, and are a document of no origin when opened in a tab. */
export const FILE_SECURITY_POLICY = "default-src 'none'; sandbox"
/** How long a read waits for a peer holding the file to give its first bytes. */
const FIRST_BYTES_MS = 60_000
/** An upload's form fields are short: a size, a message id. */
const MAX_FIELD_BYTES = 256

const fileParams = z.object({
  conversation: z.string().min(1).max(200),
  seq: z.coerce.number().int().positive(),
  index: z.coerce.number().int().min(0).max(9)
})

export interface FileRoutesDeps {
  client: ChatClient
  logger: Logger
}

export async function fileRoutes (app: FastifyInstance, deps: FileRoutesDeps): Promise<void> {
  const { client, logger } = deps
  await app.register(async (scope) => {
    await scope.register(multipart, { limits: { fileSize: client.maxFileSize, files: 2, fields: 2, parts: 4, fieldSize: MAX_FIELD_BYTES } })

    scope.get('/files/:conversation/:seq/:index', async (request, reply) => {
      const params = fileParams.safeParse(request.params)
      if (!params.success) return await fail(reply, 404, { code: 'ERR_NO_FILE', message: 'no such file' })
      const { conversation, seq, index } = params.data
      const download = Object.hasOwn(request.query as object, 'download')
      const stop = new AbortController()
      reply.raw.once('close', () => { stop.abort(new Error('the browser closed the request')) })
      let file: FileToRead
      let first: IteratorResult<Uint8Array>
      let bytes: AsyncIterator<Uint8Array>
      const slow = setTimeout(() => { stop.abort(new Error(`no peer gave the file within ${FIRST_BYTES_MS / 1000} s`)) }, FIRST_BYTES_MS)
      try {
        file = await client.readFile(conversation, seq, index, { signal: stop.signal })
        bytes = file.bytes[Symbol.asyncIterator]()
        first = await bytes.next()
      } catch (err) {
        return await failWith(reply, err, logger)
      } finally {
        clearTimeout(slow)
      }
      const inline = !download && INLINE_IMAGE_TYPES.has(file.type.toLowerCase())
      fileHeaders(reply, inline ? file.type : 'application/octet-stream', file.name, inline).header('content-length', file.size)
      return await reply.send(Readable.from(rest(first, bytes)))
    })

    scope.get('/files/:conversation/:seq/:index/preview', async (request, reply) => {
      const params = fileParams.safeParse(request.params)
      if (!params.success) return await fail(reply, 404, { code: 'ERR_NO_FILE', message: 'no such file' })
      const { conversation, seq, index } = params.data
      try {
        const preview = await client.filePreview(conversation, seq, index)
        if (preview === undefined || !INLINE_IMAGE_TYPES.has(preview.type.toLowerCase())) return await fail(reply, 404, { code: 'ERR_NO_FILE', message: 'no preview' })
        // The preview may be of another raster format than the file: a browser's image decoder reads what it is.
        return await fileHeaders(reply, preview.type, 'preview', true).send(Buffer.from(preview.bytes))
      } catch (err) {
        return await failWith(reply, err, logger)
      }
    })

    scope.post('/files/:conversation', async (request, reply) => {
      const conversation = z.string().min(1).max(200).safeParse((request.params as { conversation?: unknown }).conversation)
      if (!conversation.success || !request.isMultipart()) return await fail(reply, 400, { code: 'ERR_BAD_REQUEST', message: 'a multipart form with size, replyTo, preview and file' })
      try {
        return await reply.send({ message: await upload(client, conversation.data, request.parts()) })
      } catch (err) {
        return await failWith(reply, err, logger)
      }
    })
  })
}

/** Reads the form's parts in order and sends the file as its part streams in: it is never held whole. */
async function upload (client: ChatClient, conversation: string, parts: AsyncIterableIterator<import('@fastify/multipart').Multipart>): Promise<unknown> {
  let size: number | undefined
  let replyTo: string | undefined
  let preview: Uint8Array | undefined
  for await (const part of parts) {
    if (part.type === 'field') {
      const value = typeof part.value === 'string' ? part.value : ''
      if (part.fieldname === 'size') size = z.coerce.number().int().nonnegative().parse(value)
      else if (part.fieldname === 'replyTo' && value !== '') replyTo = z.string().min(1).max(200).parse(value)
      continue
    }
    if (part.fieldname === 'preview') {
      const bytes = await part.toBuffer()
      if (bytes.length > MAX_PREVIEW_BYTES) throw new ClientError('ERR_FILE_TOO_LARGE', `a preview is at most ${MAX_PREVIEW_BYTES} bytes`)
      preview = new Uint8Array(bytes)
      continue
    }
    if (part.fieldname !== 'file') throw new UploadError(`no form field "${part.fieldname.slice(0, 50)}"`)
    if (size === undefined) throw new UploadError('the size goes before the file')
    const type = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i.test(part.mimetype) ? part.mimetype : 'application/octet-stream'
    return await client.sendFile(conversation, part.file, { name: part.filename, type, size, preview, replyTo })
  }
  throw new UploadError('the form has no file')
}

class UploadError extends BertybotError {
  constructor (message: string) {
    super('ERR_BAD_REQUEST', message)
  }
}

async function * rest (first: IteratorResult<Uint8Array>, bytes: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  let next = first
  while (next.done !== true) {
    yield next.value
    next = await bytes.next()
  }
}

function fileHeaders (reply: FastifyReply, type: string, name: string, inline: boolean): FastifyReply {
  return reply.type(type)
    .header('content-disposition', contentDisposition(name, { type: inline ? 'inline' : 'attachment' }))
    .header('content-security-policy', FILE_SECURITY_POLICY)
    .header('cross-origin-resource-policy', 'same-origin')
}

/** The status of a refusal, by its code; a file no peer could give is a bad gateway. */
const statusOf: Record<string, number> = { ERR_NO_CONVERSATION: 404, ERR_NO_FILE: 404, ERR_FILE_TOO_LARGE: 413, ERR_BAD_REQUEST: 400, ERR_INVALID_OPTION: 400, ERR_ABORTED: 504 }

async function failWith (reply: FastifyReply, err: unknown, logger: Logger): Promise<FastifyReply> {
  if (err instanceof z.ZodError) return await fail(reply, 400, { code: 'ERR_BAD_REQUEST', message: err.issues[0]?.message ?? 'bad form' })
  if (err instanceof BertybotError) return await fail(reply, statusOf[err.code] ?? 502, { code: err.code, message: err.message })
  // The multipart parser's own limit, past the peer's maxFileSize.
  if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') return await fail(reply, 413, { code: 'ERR_FILE_TOO_LARGE', message: 'the file is larger than the peer takes' })
  logger.error({ err }, 'a file request failed')
  return await fail(reply, 500, { code: 'ERR_INTERNAL', message: 'something went wrong on the server; its log says what' })
}

async function fail (reply: FastifyReply, status: number, error: ErrorBody): Promise<FastifyReply> {
  return await reply.code(status).type('application/json').send({ error })
}
