/**
 * A replica's own records, in sections of the state database: its access
 * token, the groups it keeps, and the files it has yet to fetch (named by
 * entries it took, while their blocks are not all here), so a restart goes
 * on fetching them.
 */
import { z } from 'zod'
import { decodeCbor, encodeCbor } from './encoding.ts'
import { DataDirectoryError } from './errors.ts'
import type { ReplicatedGroup } from './replication.ts'
import { replicatedGroupSchema } from './state-records.ts'
import type { StateSection, StateStore } from './state-store.ts'

const wantedFileSchema = z.object({ group: z.string().max(128), since: z.number().int().min(0) })

/** A group a replica keeps: as a member registered it, or an epoch it followed the group to (`follows`: the epoch before). */
export interface KeptGroup extends ReplicatedGroup {
  readonly follows?: Uint8Array | undefined
}

/** A file a replica has yet to fetch: the group whose entry named it, since when. */
export type WantedFile = z.infer<typeof wantedFileSchema>

export class ReplicaRecords {
  readonly #meta: StateSection
  readonly #groups: StateSection
  readonly #files: StateSection

  constructor (state: StateStore) {
    this.#meta = state.section('meta')
    this.#groups = state.section('replicated')
    this.#files = state.section('replica-files')
  }

  async token (): Promise<Uint8Array | undefined> {
    return await this.#meta.get('replica-token')
  }

  async putToken (token: Uint8Array): Promise<void> {
    await this.#meta.put('replica-token', token)
  }

  async groups (): Promise<KeptGroup[]> {
    const out: KeptGroup[] = []
    for await (const [id, value] of this.#groups.iterator()) out.push(decoded(value, replicatedGroupSchema, `replicated group ${id}`))
    return out
  }

  async putGroup (group: KeptGroup): Promise<void> {
    const { pk, signPub, linkKey, linkKeySig, follows } = group
    await this.#groups.put(Buffer.from(pk).toString('base64url'), encodeCbor(follows === undefined ? { pk, signPub, linkKey, linkKeySig } : { pk, signPub, linkKey, linkKeySig, follows }))
  }

  /** The files still to fetch, by root. */
  async wantedFiles (): Promise<Map<string, WantedFile>> {
    const out = new Map<string, WantedFile>()
    for await (const [root, value] of this.#files.iterator()) out.set(root, decoded(value, wantedFileSchema, `wanted file ${root}`))
    return out
  }

  async wantFiles (files: Map<string, WantedFile>): Promise<void> {
    await this.#files.batch([...files].map(([root, file]) => ({ type: 'put' as const, key: root, value: encodeCbor(file) })))
  }

  async gotFile (root: string): Promise<void> {
    await this.#files.del(root)
  }
}

function decoded<S extends z.ZodType> (value: Uint8Array, schema: S, what: string): z.infer<S> {
  let problem = ''
  const record = decodeCbor(value, schema, (reason) => { problem = reason })
  if (record === undefined) throw new DataDirectoryError(`${what} is damaged in the state database: ${problem}`)
  return record
}
