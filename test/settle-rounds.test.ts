/**
 * The anti-entropy rounds' schedule, on vitest's fake clock: which peers a
 * changed log swaps heads with, and when it stops. (That they make a group
 * of fifty converge is test/scale.test.ts's.)
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { SettleRounds } from '../src/protocol/settle-rounds.ts'

const PEERS = [
  '12D3KooWDfa45Vsdhh3TZUvW5QuvknayL2exyKihLdsrmf6sNYLC',
  '12D3KooWNBzPAxXZ9tqmniFEyeoZgiAugUHdSk5CeQ36tYGqyfzP',
  '12D3KooWMQ6vMZxVdaiEcPsrqwoVoH68xCfAHqtJg397xRQyU8rp',
  '12D3KooWMmv77f1uHmed9vbDopddTPvAfK7MzrTCzLVevcfQgRiV',
  '12D3KooWSZBwJQindBmfk2NHMwUPzg1YVHZsbgyRhgyVfLReNctE'
].map((id) => peerIdFromString(id))

function rounds (): { settle: SettleRounds, exchanges: Array<{ peer: PeerId, addresses: string[] }> } {
  const exchanges: Array<{ peer: PeerId, addresses: string[] }> = []
  const settle = new SettleRounds({
    delaysMs: [2_000, 8_000],
    peersPerRound: 3,
    maxWaitMs: 10_000,
    peersOf: (address) => address === 'lonely' ? [] : PEERS,
    exchange: (peer, addresses) => { exchanges.push({ peer, addresses }) }
  })
  return { settle, exchanges }
}

beforeEach(() => { vi.useFakeTimers() })
afterEach(() => { vi.useRealTimers() })

describe('settle rounds', () => {
  it('swap heads with a few distinct peers of the log after it changed, once per round, and then stop', async () => {
    const { settle, exchanges } = rounds()
    settle.changed('a')
    settle.changed('b')
    await vi.advanceTimersByTimeAsync(1_500)
    expect(exchanges).toEqual([])
    await vi.advanceTimersByTimeAsync(1_000)
    // Each log with 3 peers of its own picking; one exchange per peer covers every log it was picked for.
    const peersOf = (address: string): string[] => exchanges.filter((e) => e.addresses.includes(address)).map((e) => e.peer.toString())
    expect(new Set(exchanges.map((e) => e.peer.toString())).size).toBe(exchanges.length)
    for (const address of ['a', 'b']) expect(new Set(peersOf(address)).size).toBe(3)
    const first = exchanges.length
    await vi.advanceTimersByTimeAsync(8_000)
    expect(exchanges.length).toBeGreaterThan(first)
    const second = exchanges.length
    for (const address of ['a', 'b']) expect(peersOf(address)).toHaveLength(6)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(exchanges).toHaveLength(second)
    settle.stop()
  })

  it('wait for a log that keeps changing to pause, but no longer than the longest wait after the round before', async () => {
    const { settle, exchanges } = rounds()
    const roundsAt: number[] = []
    let second = 0
    // A change every second for 25 s: rounds 10 s apart, not every 2 s.
    for (; second < 25; second++) {
      settle.changed('a')
      const before = exchanges.length
      await vi.advanceTimersByTimeAsync(1_000)
      if (exchanges.length > before) roundsAt.push(second + 1)
    }
    expect(roundsAt).toEqual([10, 20])
    // Once it pauses, the first round comes 2 s after its last change, the second 8 s after that.
    for (; second < 40; second++) {
      const before = exchanges.length
      await vi.advanceTimersByTimeAsync(1_000)
      if (exchanges.length > before) roundsAt.push(second + 1)
    }
    expect(roundsAt).toEqual([10, 20, 26, 34])
    settle.stop()
  })

  it('start over when the log changes again, and forget a log that was closed', async () => {
    const { settle, exchanges } = rounds()
    settle.changed('a')
    await vi.advanceTimersByTimeAsync(2_500)
    expect(exchanges).toHaveLength(3)
    settle.changed('a')
    // A change brings the next round to the first's delay (2 s), not the second's (8 s)...
    await vi.advanceTimersByTimeAsync(2_500)
    expect(exchanges).toHaveLength(6)
    // ...and the second follows 8 s after that, then nothing.
    await vi.advanceTimersByTimeAsync(7_000)
    expect(exchanges).toHaveLength(6)
    await vi.advanceTimersByTimeAsync(1_500)
    expect(exchanges).toHaveLength(9)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(exchanges).toHaveLength(9)
    settle.changed('c')
    settle.forget('c')
    settle.changed('lonely')
    await vi.advanceTimersByTimeAsync(60_000)
    expect(exchanges.filter((e) => e.addresses.includes('c') || e.addresses.includes('lonely'))).toEqual([])
    settle.stop()
  })
})
