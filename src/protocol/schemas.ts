/** zod building blocks for the wire formats, so every decoder validates the same way. */
import { z } from 'zod'
import { KEY_SIZE, NONCE_SIZE, SIGNATURE_SIZE } from './crypto.ts'

/** A byte string, optionally of an exact length. */
export function bytes (length?: number, what = 'bytes'): z.ZodType<Uint8Array> {
  const base = z.instanceof(Uint8Array, { message: `expected ${what}` })
  return length === undefined
    ? base
    : base.refine((b) => b.length === length, { message: `expected ${length} bytes of ${what}` })
}

export const publicKeyBytes = bytes(KEY_SIZE, 'public key')
export const secretBytes = bytes(KEY_SIZE, 'secret')
export const nonceBytes = bytes(NONCE_SIZE, 'nonce')
export const signatureBytes = bytes(SIGNATURE_SIZE, 'signature')
/** Counters and timestamps travel as CBOR integers; cap them so arithmetic stays exact. */
export const uint = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
