/**
 * Files being stored, in a section of the state database: a file is staged
 * from before its first block is written until the message that refers to it
 * is committed, and each of its blocks is recorded before it is written. So a
 * crash in the middle of storing, or before the message, leaves a record of
 * every block to delete at the next start (`file-store.ts`), and nothing
 * half-stored stays behind.
 *
 * Keys: `<stage id>` holds the staged file (since when, and its root once
 * it is known); `<stage id>/<block CID>` each block written for it.
 */
import { z } from 'zod'
import { decodeCbor, encodeCbor } from './encoding.ts'
import { cidString } from './file-reference.ts'
import type { StateOp, StateSection, StateStore } from './state-store.ts'

const stagedFileSchema = z.object({ since: z.number().int().min(0), root: cidString.optional() })

/** A file staged and not committed. */
export interface StagedFile {
  stageId: string
  since: number
  /** Its root, once all its blocks were written. */
  root: string | undefined
  /** The blocks written for it (CID strings). */
  blocks: string[]
}

export class FileRecords {
  readonly #staged: StateSection

  constructor (state: StateStore) {
    this.#staged = state.section('files-staged')
  }

  /** Stages a file: written before any of its blocks. */
  stageOp (stageId: string, since: number, root?: string): StateOp {
    return { type: 'put', sublevel: this.#staged, key: stageId, value: encodeCbor(root === undefined ? { since } : { since, root }) }
  }

  /** Records a block of a staged file: written before the block. */
  blockOp (stageId: string, cid: string): StateOp {
    return { type: 'put', sublevel: this.#staged, key: `${stageId}/${cid}`, value: new Uint8Array() }
  }

  /** What unstages a file: written with what commits it (its message, or a bot's outbox item), or once its blocks are deleted. */
  unstageOps (file: { stageId: string, blocks: Iterable<string> }): StateOp[] {
    const ops: StateOp[] = [{ type: 'del', sublevel: this.#staged, key: file.stageId }]
    for (const cid of file.blocks) ops.push({ type: 'del', sublevel: this.#staged, key: `${file.stageId}/${cid}` })
    return ops
  }

  /** Every staged file, with its blocks; a damaged record counts as a file of unknown root, to be deleted. */
  async staged (): Promise<StagedFile[]> {
    const files = new Map<string, StagedFile>()
    const fileOf = (stageId: string): StagedFile => {
      let file = files.get(stageId)
      if (file === undefined) {
        file = { stageId, since: 0, root: undefined, blocks: [] }
        files.set(stageId, file)
      }
      return file
    }
    for await (const [key, value] of this.#staged.iterator()) {
      const slash = key.indexOf('/')
      if (slash >= 0) {
        fileOf(key.slice(0, slash)).blocks.push(key.slice(slash + 1))
        continue
      }
      const record = decodeCbor(value, stagedFileSchema)
      const file = fileOf(key)
      file.since = record?.since ?? 0
      file.root = record?.root
    }
    return [...files.values()]
  }
}
