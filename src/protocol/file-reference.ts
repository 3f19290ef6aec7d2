/**
 * What a message carries of each file it sends, inside the encryption: the
 * root of its encrypted blocks, the key that opens them, its size, media type
 * and name, and for an image an optional small preview. Checked with zod at
 * the edge, as every app message is. Outside the encryption an entry names
 * only the roots (`log-entry.ts`), so that replicas keep the blocks.
 */
import { CID } from 'multiformats/cid'
import { z } from 'zod'
import { KEY_SIZE } from './crypto.ts'
import { InvalidOptionError } from './errors.ts'
import { bytes, uint } from './schemas.ts'

/** Files one message may carry. */
export const MAX_FILES_PER_MESSAGE = 10
/** The most a preview may weigh: a thumbnail, not the image. */
export const MAX_PREVIEW_BYTES = 16 * 1024
/** The largest file a peer takes unless told otherwise (`maxFileSize`). */
export const DEFAULT_MAX_FILE_SIZE = 25 * 1024 * 1024
const MAX_NAME_LENGTH = 255

/** A CID string (as `CID.toString()` writes it), checked to parse. */
export const cidString = z.string().min(1).max(128).refine((text) => {
  try {
    CID.parse(text)
    return true
  } catch {
    return false
  }
}, { message: 'not a CID' })

/** `type/subtype`, with parameters: what a media type looks like, bounded. */
const mediaType = z.string().max(255).regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*(\s*;.*)?$/i, { message: 'not a media type' })
/** A name to save the file as: no path parts, no control characters. */
const fileName = z.string().min(1).max(MAX_NAME_LENGTH).refine((name) => safeFileName(name) === name, { message: 'a file name has no path parts' })

export const fileReferenceSchema = z.object({
  root: cidString,
  key: bytes(KEY_SIZE, 'file key'),
  size: uint,
  type: mediaType,
  name: fileName,
  preview: bytes().refine((b) => b.length <= MAX_PREVIEW_BYTES, { message: `a preview is at most ${MAX_PREVIEW_BYTES} bytes` }).optional()
}).refine((ref) => ref.preview === undefined || ref.type.toLowerCase().startsWith('image/'), { message: 'only images have a preview' })

/** A stored file as a message refers to it; whoever holds it can fetch and open the file. */
export type FileReference = z.infer<typeof fileReferenceSchema>

/**
 * The last part of `name` with control characters taken out: a file's name
 * never says where to put it. Empty, `.` and `..` are no name.
 */
export function safeFileName (name: string): string | undefined {
  const base = (name.split(/[/\\]/).pop() ?? '').replace(/[\p{Cc}]/gu, '').trim()
  if (base === '' || base === '.' || base === '..') return undefined
  return base.slice(0, MAX_NAME_LENGTH)
}

/** Checks what a caller says of a file before it is stored; throws `InvalidOptionError` naming what is wrong. */
export function checkedFileDescription (description: { name: string, type: string, preview?: Uint8Array | undefined }): { name: string, type: string, preview?: Uint8Array } {
  const name = typeof description?.name === 'string' ? safeFileName(description.name) : undefined
  if (name === undefined) throw new InvalidOptionError('a file needs a name')
  const type = mediaType.safeParse(description.type)
  if (!type.success) throw new InvalidOptionError(`a file needs a media type such as image/png, not ${JSON.stringify(description.type)}`)
  const { preview } = description
  if (preview === undefined) return { name, type: type.data }
  if (!(preview instanceof Uint8Array) || preview.length > MAX_PREVIEW_BYTES) throw new InvalidOptionError(`a preview is bytes, at most ${MAX_PREVIEW_BYTES} of them`)
  if (!type.data.toLowerCase().startsWith('image/')) throw new InvalidOptionError('only images have a preview')
  return { name, type: type.data, preview }
}

/** The files a message is to carry, checked, and with the fields left undefined left out (as CBOR keeps them); or why they cannot go. */
export function messageFiles (files: readonly FileReference[] | undefined): { ok: true, files: FileReference[] | undefined } | { ok: false, problem: string } {
  if (files === undefined || files.length === 0) return { ok: true, files: undefined }
  if (!Array.isArray(files) || files.length > MAX_FILES_PER_MESSAGE) return { ok: false, problem: `a message carries at most ${MAX_FILES_PER_MESSAGE} files` }
  const checked: FileReference[] = []
  for (const file of files) {
    const parsed = fileReferenceSchema.safeParse(file)
    if (!parsed.success) return { ok: false, problem: `not a stored file's reference: ${parsed.error.issues[0]?.message ?? ''}` }
    const { preview, ...fields } = parsed.data
    checked.push(preview === undefined ? fields : { ...fields, preview })
  }
  return { ok: true, files: checked }
}
