/**
 * Byte encodings shared by the wire formats: deterministic CBOR (dag-cbor, the
 * encoding OrbitDB entries already use) and the string forms of keys.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { decodeFirst } from 'cborg'
import type { z } from 'zod'

export { dagCbor }

export function encodeCbor (value: unknown): Uint8Array {
  return dagCbor.encode(value)
}

/**
 * Decodes untrusted CBOR and validates it against `schema`: `undefined` when
 * either step fails, with the reason in `onError` for the log.
 */
export function decodeCbor<S extends z.ZodType> (bytes: Uint8Array, schema: S, onError?: (reason: string) => void): z.infer<S> | undefined {
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (err) {
    onError?.(`not CBOR: ${(err as Error).message}`)
    return undefined
  }
  return validate(value, schema, onError)
}

/** Validates an already decoded value against `schema`; `undefined` (and the reason in `onError`) when it does not fit. */
export function validate<S extends z.ZodType> (value: unknown, schema: S, onError?: (reason: string) => void): z.infer<S> | undefined {
  const parsed = schema.safeParse(value)
  if (!parsed.success) {
    onError?.(describeIssues(parsed.error))
    return undefined
  }
  return parsed.data
}

export function describeIssues (error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
}

/** Public keys as strings (account id, device id, group id): unpadded base64url, as Berty's messenger. */
export function keyToId (publicKey: Uint8Array): string {
  return Buffer.from(publicKey).toString('base64url')
}

/** The inverse of `keyToId`; `undefined` unless the string is exactly a 32-byte key. */
export function idToKey (id: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined
  const bytes = new Uint8Array(Buffer.from(id, 'base64url'))
  return bytes.length === 32 ? bytes : undefined
}

/**
 * Splits concatenated CBOR items (a CBOR sequence) into each item's bytes.
 * Stops at the first item that does not decode; `rest` is what was left.
 */
export function splitCborSequence (bytes: Uint8Array): { items: Uint8Array[], rest: Uint8Array } {
  const items: Uint8Array[] = []
  let remaining = bytes
  while (remaining.length > 0) {
    try {
      const [, after] = decodeFirst(remaining, dagCbor.decodeOptions)
      items.push(remaining.subarray(0, remaining.length - after.length))
      remaining = after
    } catch {
      break
    }
  }
  return { items, rest: remaining }
}
