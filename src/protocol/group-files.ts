/**
 * Files in a group's messages: sending one (stored and staged first, then
 * sent in a message whose entry commits it; a message that does not go
 * takes its file with it), and what a received message shows of each file it
 * carries.
 */
import type { AbortOptions } from './abort.ts'
import type { ReceivedFile } from './events.ts'
import type { FileReference } from './file-reference.ts'
import type { FileSource, FileStore } from './file-store.ts'
import type { Group, SendFileOptions } from './handles.ts'

/** Stores `source` and sends it in `group`; resolves with the message's id. */
export async function sendFile (group: Group, files: Pick<FileStore, 'store' | 'discard'>, source: FileSource, options: SendFileOptions, abort: AbortOptions = {}): Promise<string> {
  const { text = '', replyTo, ...description } = options
  const file = await files.store(source, description, abort)
  try {
    return await group.send({ text, replyTo, files: [file] }, abort)
  } catch (err) {
    // Not in the log: nothing refers to it. (Once appended it is committed, and this deletes nothing.)
    await files.discard([file.root])
    throw err
  }
}

/** A file as a received message shows it: what its sender said of it, and its bytes on demand. */
export function receivedFile (reference: FileReference, files: Pick<FileStore, 'read'>): ReceivedFile {
  const { name, type, size, preview, root } = reference
  return { name, type, size, preview, root, reference, read: (options?: AbortOptions) => files.read(reference, options) }
}
