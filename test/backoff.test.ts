import { describe, expect, it } from 'vitest'
import { Backoff } from '../src/protocol/backoff.ts'

describe('Backoff', () => {
  it('doubles each delay up to the maximum, and starts over after a success', () => {
    const backoff = new Backoff({ minMs: 500, maxMs: 3_000 })
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([500, 1_000, 2_000, 3_000, 3_000])
    backoff.reset()
    expect(backoff.next()).toBe(500)
  })

  it('stops waiting when its signal aborts', async () => {
    const backoff = new Backoff({ minMs: 60_000, maxMs: 60_000 })
    const controller = new AbortController()
    const waiting = backoff.wait(controller.signal)
    controller.abort()
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' })
  })
})
