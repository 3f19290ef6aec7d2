/**
 * Rendezvous points (WESH.md §2.6), where a requester meets a responder
 * without either knowing where the other is:
 *
 *   period_start = floor(unix(now) / interval) * interval
 *   point        = HMAC-SHA256(key = base64(account key) ‖ seed, msg = uint64BE(period_start))
 *
 * The point rotates every period (Berty: 24 h), so watching one reveals
 * nothing past its period; only holders of the seed can compute it. A point
 * is a gossipsub topic (for peers already connected) and a DHT key (CIDv1,
 * raw, sha2-256 of the point), whose provider records others keep while the
 * responder is offline.
 */
import * as raw from 'multiformats/codecs/raw'
import { CID } from 'multiformats/cid'
import { sha256 as sha256Hasher } from 'multiformats/hashes/sha2'
import { concatBytes, hmacSha256, uint64BE, utf8ToBytes } from './crypto.ts'

/** Wesh `DefaultRotationInterval`. */
export const ROTATION_INTERVAL_MS = 24 * 60 * 60 * 1000

/** Start of the period `atMs` falls in, in whole seconds as Wesh counts it. */
export function periodStart (atMs: number, intervalMs = ROTATION_INTERVAL_MS): number {
  const intervalS = Math.floor(intervalMs / 1000)
  return Math.floor(Math.floor(atMs / 1000) / intervalS) * intervalS
}

export function rendezvousPoint (accountKey: Uint8Array, seed: Uint8Array, atMs: number, intervalMs = ROTATION_INTERVAL_MS): Uint8Array {
  const topic = utf8ToBytes(Buffer.from(accountKey).toString('base64'))
  return hmacSha256(concatBytes(topic, seed), uint64BE(periodStart(atMs, intervalMs)))
}

/** The points a responder listens at, at `atMs`: the current period's and the previous one's. */
export function listeningPoints (accountKey: Uint8Array, seed: Uint8Array, atMs: number, intervalMs = ROTATION_INTERVAL_MS): Uint8Array[] {
  return [rendezvousPoint(accountKey, seed, atMs, intervalMs), rendezvousPoint(accountKey, seed, atMs - intervalMs, intervalMs)]
}

/** Milliseconds from `atMs` to the next rotation. */
export function untilNextPeriod (atMs: number, intervalMs = ROTATION_INTERVAL_MS): number {
  return (periodStart(atMs, intervalMs) * 1000 + intervalMs) - atMs
}

/** The point's DHT key. An identity-hash CID would be refused by receivers as invalid (STACK.md). */
export async function rendezvousCid (point: Uint8Array): Promise<CID> {
  return CID.createV1(raw.code, await sha256Hasher.digest(point))
}

export function rendezvousTopic (point: Uint8Array): string {
  return `/bertybot/rendezvous/1.0.0/${Buffer.from(point).toString('base64url')}`
}

/** A group's DHT key, for its members and replicas to find each other: derived from the link key, which outsiders lack. */
export async function groupRendezvousCid (linkKey: Uint8Array): Promise<CID> {
  return await rendezvousCid(hmacSha256(linkKey, utf8ToBytes('bertybot/group-rendezvous/v1')))
}
