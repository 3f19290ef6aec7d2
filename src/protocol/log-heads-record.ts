/**
 * A log's heads as the state database keeps them: OrbitDB's heads record,
 * JSON of `[{ hash, next }]`, so a data directory reads as OrbitDB wrote it.
 */
import { z } from 'zod'

const headsRecordSchema = z.array(z.object({ hash: z.string(), next: z.array(z.string()) }))

export function encodeHeadsRecord (heads: Iterable<{ hash: string, next: string[] }>): Uint8Array {
  return new TextEncoder().encode(JSON.stringify([...heads].map(({ hash, next }) => ({ hash, next }))))
}

/** The heads' hashes, or `undefined` if the record is not one. */
export function decodeHeadsRecord (bytes: Uint8Array): string[] | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return undefined
  }
  const record = headsRecordSchema.safeParse(parsed)
  return record.success ? record.data.map(({ hash }) => hash) : undefined
}
