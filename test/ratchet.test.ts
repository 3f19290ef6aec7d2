import { describe, expect, it } from 'vitest'
import { MAX_SKIPPED_MESSAGE_KEYS, PRECOMPUTED_MESSAGE_KEYS, newSenderChain, nextSendingKey, receiverChainFrom, takeMessageKey, type ReceiverChain, type SenderChain } from '../src/protocol/ratchet.ts'

const groupKey = new Uint8Array(32).fill(2)

function send (chain: SenderChain, n: number): { chain: SenderChain, keys: Map<number, Uint8Array> } {
  const keys = new Map<number, Uint8Array>()
  for (let i = 0; i < n; i++) {
    const step = nextSendingKey(chain, groupKey)
    keys.set(step.counter, step.messageKey)
    chain = step.chain
  }
  return { chain, keys }
}

function take (chain: ReceiverChain, counter: number): ReceiverChain {
  const lookup = takeMessageKey(chain, counter, groupKey)
  if (lookup.outcome !== 'found') throw new Error(`counter ${counter}: ${lookup.outcome}`)
  return lookup.chain
}

describe('symmetric ratchet', () => {
  it('gives the receiver the same key as the sender, for each message, once', () => {
    const start = newSenderChain()
    const { keys } = send(start, 5)
    let receiver = receiverChainFrom(start)
    for (const [counter, key] of keys) {
      const lookup = takeMessageKey(receiver, counter, groupKey)
      expect(lookup.outcome).toBe('found')
      if (lookup.outcome !== 'found') return
      expect(lookup.messageKey).toEqual(key)
      receiver = lookup.chain
    }
    expect(takeMessageKey(receiver, 3, groupKey).outcome).toBe('already-used')
  })

  it('opens messages that arrive out of order within the window', () => {
    const start = newSenderChain()
    const { keys } = send(start, 10)
    let receiver = receiverChainFrom(start)
    for (const counter of [10, 3, 7, 1, 2, 9, 4, 8, 6, 5]) {
      const lookup = takeMessageKey(receiver, counter, groupKey)
      if (lookup.outcome !== 'found') throw new Error(`${counter}: ${lookup.outcome}`)
      expect(lookup.messageKey).toEqual(keys.get(counter))
      receiver = lookup.chain
    }
  })

  it('treats messages sent before the chain was shared as history', () => {
    const before = send(newSenderChain(), 4).chain
    const receiver = receiverChainFrom(before)
    expect(takeMessageKey(receiver, 4, groupKey).outcome).toBe('before-join')
    expect(takeMessageKey(receiver, 5, groupKey).outcome).toBe('found')
  })

  it('holds a bounded window ahead of the last used key, and slides it', () => {
    const start = newSenderChain()
    let receiver = receiverChainFrom(start)
    expect(takeMessageKey(receiver, PRECOMPUTED_MESSAGE_KEYS + 1, groupKey).outcome).toBe('out-of-window')
    receiver = take(receiver, PRECOMPUTED_MESSAGE_KEYS)
    expect(takeMessageKey(receiver, 2 * PRECOMPUTED_MESSAGE_KEYS, groupKey).outcome).toBe('found')
    expect(receiver.keys.size).toBeLessThanOrEqual(PRECOMPUTED_MESSAGE_KEYS + MAX_SKIPPED_MESSAGE_KEYS)
  })

  it('forgets the oldest skipped keys past the bound', () => {
    const start = newSenderChain()
    let receiver = receiverChainFrom(start)
    receiver = take(receiver, PRECOMPUTED_MESSAGE_KEYS) // skips 1..99
    receiver = take(receiver, 2 * PRECOMPUTED_MESSAGE_KEYS) // skips 101..199: 198 skipped in all
    expect([...receiver.keys.keys()].filter((c) => c < 2 * PRECOMPUTED_MESSAGE_KEYS)).toHaveLength(MAX_SKIPPED_MESSAGE_KEYS)
    expect(takeMessageKey(receiver, 1, groupKey).outcome).toBe('already-used')
    expect(takeMessageKey(receiver, 2 * PRECOMPUTED_MESSAGE_KEYS - 1, groupKey).outcome).toBe('found')
  })
})
