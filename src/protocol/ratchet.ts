/**
 * The per-device symmetric ratchet (WESH.md §2.4), as pure functions over
 * plain state so that the caller persists each step atomically.
 *
 * Each device has one chain per group. A message key is derived from the
 * chain key with HKDF-SHA256 (info = group public key); the chain then moves
 * on and the old chain key is forgotten, so a stolen device cannot read what
 * it sent before. Receivers accept a window of counters ahead of the next
 * one, so entries may arrive out of order, and delete each key once used.
 */
import { hkdfSha256, randomBytes, KEY_SIZE } from './crypto.ts'

/** Wesh `PrecomputeMessageKeyCount`: how far ahead of the next expected counter a message is accepted, per sender device. */
export const PRECOMPUTED_MESSAGE_KEYS = 100
/** Unused keys behind the last used counter (messages skipped by a crashed sender) kept at most. */
export const MAX_SKIPPED_MESSAGE_KEYS = 100

/** Wesh `deriveNextKeys`: HKDF(chainKey, salt = none, info = group key) → next chain key ‖ message key. */
export function deriveNextKeys (chainKey: Uint8Array, groupPublicKey: Uint8Array): { chainKey: Uint8Array, messageKey: Uint8Array } {
  const okm = hkdfSha256(chainKey, undefined, groupPublicKey, 2 * KEY_SIZE)
  return { chainKey: okm.slice(0, KEY_SIZE), messageKey: okm.slice(KEY_SIZE) }
}

/** Our own chain in a group: `counter` is that of the last message sent (0: none yet). */
export interface SenderChain {
  readonly chainKey: Uint8Array
  readonly counter: number
}

export function newSenderChain (): SenderChain {
  return { chainKey: randomBytes(KEY_SIZE), counter: 0 }
}

/** The key for our next message, and the chain to persist *before* the message leaves. */
export function nextSendingKey (chain: SenderChain, groupPublicKey: Uint8Array): { chain: SenderChain, counter: number, messageKey: Uint8Array } {
  const { chainKey, messageKey } = deriveNextKeys(chain.chainKey, groupPublicKey)
  const counter = chain.counter + 1
  return { chain: { chainKey, counter }, counter, messageKey }
}

/**
 * What we hold of another device's chain: the chain key that derives counter
 * `next`, and the keys derived for earlier counters that were not used yet
 * (messages that arrived out of order, or never). Keys ahead of `next` are
 * derived when a message needs them, not held in advance: a message in order
 * costs one derivation and a record of a few dozen bytes, not a window of a
 * hundred keys rewritten each time.
 */
export interface ReceiverChain {
  /** The counter of the chain key we were given: that device's messages up to it predate us. */
  readonly since: number
  /** Derives the key of counter `next`. */
  readonly chainKey: Uint8Array
  readonly next: number
  /** Derived, not yet used keys of counters below `next`. */
  readonly keys: ReadonlyMap<number, Uint8Array>
}

/** Starts holding a device's chain from the chain key it shared with us. */
export function receiverChainFrom (shared: SenderChain): ReceiverChain {
  return { since: shared.counter, chainKey: shared.chainKey, next: shared.counter + 1, keys: new Map() }
}

export type MessageKeyLookup =
  | { readonly outcome: 'found', readonly messageKey: Uint8Array, readonly chain: ReceiverChain }
  | { readonly outcome: 'before-join' } // sent before this device shared its chain with us
  | { readonly outcome: 'already-used' } // a replayed counter, or one whose key was evicted
  | { readonly outcome: 'out-of-window' } // further ahead than the window we accept

/**
 * Takes the key of `counter` out of the chain (it is used once). A counter up
 * to PRECOMPUTED_MESSAGE_KEYS ahead of `next` is accepted, as Wesh accepts its
 * window of precomputed keys; the keys it skips are kept, the oldest forgotten
 * past MAX_SKIPPED_MESSAGE_KEYS.
 */
export function takeMessageKey (chain: ReceiverChain, counter: number, groupPublicKey: Uint8Array): MessageKeyLookup {
  if (counter <= chain.since) return { outcome: 'before-join' }
  if (counter < chain.next) {
    const messageKey = chain.keys.get(counter)
    if (messageKey === undefined) return { outcome: 'already-used' }
    const keys = new Map(chain.keys)
    keys.delete(counter)
    return { outcome: 'found', messageKey, chain: { ...chain, keys } }
  }
  if (counter >= chain.next + PRECOMPUTED_MESSAGE_KEYS) return { outcome: 'out-of-window' }
  const keys = new Map(chain.keys)
  let { chainKey } = chain
  let messageKey: Uint8Array | undefined
  for (let c = chain.next; c <= counter; c++) {
    const derived = deriveNextKeys(chainKey, groupPublicKey)
    chainKey = derived.chainKey
    if (c === counter) messageKey = derived.messageKey
    else keys.set(c, derived.messageKey)
  }
  if (keys.size > MAX_SKIPPED_MESSAGE_KEYS) {
    const oldest = [...keys.keys()].sort((a, b) => a - b)
    for (const c of oldest.slice(0, keys.size - MAX_SKIPPED_MESSAGE_KEYS)) keys.delete(c)
  }
  return { outcome: 'found', messageKey: messageKey as Uint8Array, chain: { since: chain.since, chainKey, next: counter + 1, keys } }
}
