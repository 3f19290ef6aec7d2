/**
 * Sending a file from the page: checked against the largest file the peer
 * sends, an image given a small preview made here (drawn smaller on a canvas
 * and encoded until it fits the protocol's 16 KiB), then uploaded to the
 * server's file route as a multipart form, which streams it into the peer.
 */
import { MAX_PREVIEW, uploadResult, type HistoryMessage } from '../api.ts'
import { CallError } from './connection.ts'

/** The images a browser draws and that the server shows inline: those get a preview. */
const PREVIEWED = /^image\/(png|jpeg|gif|webp|avif)$/i
/** The preview's longest side, tried from the largest down until one fits. */
const SIDES = [320, 240, 160, 96]
const QUALITIES = [0.82, 0.6, 0.4]

export function sizeText (bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} kB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}

/** A preview of an image, or undefined when the browser cannot draw it or none fits. */
export async function makePreview (file: File): Promise<Blob | undefined> {
  if (!PREVIEWED.test(file.type)) return undefined
  let bitmap: ImageBitmap
  try {
    bitmap = await createImageBitmap(file)
  } catch {
    return undefined
  }
  try {
    for (const side of SIDES) {
      const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height))
      const canvas = new OffscreenCanvas(Math.max(1, Math.round(bitmap.width * scale)), Math.max(1, Math.round(bitmap.height * scale)))
      const context = canvas.getContext('2d')
      if (context === null) return undefined
      context.drawImage(bitmap, 0, 0, canvas.width, canvas.height)
      for (const quality of QUALITIES) {
        // WebP keeps transparency; a browser that cannot write it gives PNG, which is tried too.
        const blob = await canvas.convertToBlob({ type: 'image/webp', quality })
        if (blob.size <= MAX_PREVIEW) return blob
      }
    }
    return undefined
  } finally {
    bitmap.close()
  }
}

/** Uploads `file` to the conversation; resolves with the message that carries it, or throws a CallError saying why not. */
export async function uploadFile (conversation: string, file: File, replyTo: string | undefined): Promise<HistoryMessage> {
  const form = new FormData()
  form.append('size', String(file.size))
  if (replyTo !== undefined) form.append('replyTo', replyTo)
  const preview = await makePreview(file)
  if (preview !== undefined) form.append('preview', preview, 'preview')
  form.append('file', file, file.name)
  let answer: Response
  try {
    answer = await fetch(`/files/${encodeURIComponent(conversation)}`, { method: 'POST', body: form })
  } catch {
    throw new CallError('offline', 'bertybot web could not be reached.')
  }
  const parsed = uploadResult.safeParse(await answer.json().catch(() => undefined))
  if (!parsed.success) throw new CallError('bad-result', `bertybot web answered the upload with ${answer.status}, which this page cannot read.`)
  if ('error' in parsed.data) throw new CallError(parsed.data.error.code, parsed.data.error.message)
  return parsed.data.message
}

/** Where the page reads file `index` of message `seq`. */
export function fileUrl (conversation: string, seq: number, index: number, what: 'file' | 'preview' | 'download'): string {
  const base = `/files/${encodeURIComponent(conversation)}/${seq}/${index}`
  return what === 'preview' ? `${base}/preview` : what === 'download' ? `${base}?download` : base
}
