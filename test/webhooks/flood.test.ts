/** Flood control's arithmetic: the minute's slots, the digest's order and wording, long digests cut. */
import { describe, expect, it } from 'vitest'
import { addToDigest, admit, emptyFloodState, formatDigest, nextSlot, takeDigest, WINDOW_MS } from '../../src/bridge/flood.ts'

describe('flood control', () => {
  it('admits `perMinute` messages in any minute, then keeps the rest for a digest sent when a slot frees', () => {
    let state = emptyFloodState()
    const t0 = Date.parse('2026-11-25T08:00:00Z')
    for (let i = 0; i < 3; i++) {
      const step = admit(state, t0 + i * 1000, 3)
      expect(step.admitted).toBe(true)
      state = step.state
    }
    const refused = admit(state, t0 + 5000, 3)
    expect(refused.admitted).toBe(false)
    state = addToDigest(refused.state, [{ key: 'a', name: 'DiskFull{instance="a"}', status: 'firing' }])
    expect(nextSlot(state, t0 + 5000, 3)).toBe(t0 + WINDOW_MS)
    // While a digest waits, nothing overtakes it, even with a free slot.
    expect(admit(state, t0 + WINDOW_MS + 1, 3).admitted).toBe(false)
    expect(takeDigest(state, t0 + WINDOW_MS - 1, 3).messages).toEqual([])
    const sent = takeDigest(state, t0 + WINDOW_MS, 3)
    expect(sent.messages).toEqual(['+1 more firing: DiskFull{instance="a"}'])
    expect(sent.state.digest).toBeUndefined()
    // The digest took a slot: the next one frees when the second message leaves the minute.
    expect(admit(sent.state, t0 + WINDOW_MS + 1, 3).admitted).toBe(false)
    expect(admit(sent.state, t0 + WINDOW_MS + 1001, 3).admitted).toBe(true)
  })

  it('names each alert once, with its last status, in the order they came', () => {
    let state = emptyFloodState()
    state = addToDigest(state, [{ key: '1', name: 'A', status: 'firing' }, { key: '2', name: 'B', status: 'firing' }])
    state = addToDigest(state, [{ key: '1', name: 'A', status: 'resolved' }, { key: '3', name: 'C', status: 'firing' }, { key: 'x', name: '[org/repo] push to main' }])
    expect(formatDigest(state.digest ?? [])).toEqual(['+2 more firing: B, C\n+1 resolved: A\n+1 more message:\n- [org/repo] push to main'])
  })

  it('cuts a long digest into messages, each naming its own alerts', () => {
    const entries = Array.from({ length: 2000 }, (_, i) => ({ key: String(i), name: `HighLatency{instance="host-${i}:9100"}`, status: 'firing' as const }))
    const messages = formatDigest(entries)
    expect(messages.length).toBeGreaterThan(1)
    expect(messages.every((m) => m.length <= 8000)).toBe(true)
    const named = messages.flatMap((m) => m.match(/host-\d+/g) ?? [])
    expect(named).toHaveLength(2000)
    expect(new Set(named).size).toBe(2000)
  })
})
