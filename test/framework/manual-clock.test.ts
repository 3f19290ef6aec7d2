import { ManualClock } from 'bertybot/testing'
import { describe, expect, it } from 'vitest'

describe('ManualClock', () => {
  it('wakes sleepers in order as time passes; one that woke takes no other with it when its signal aborts later', async () => {
    const clock = new ManualClock(0)
    const shared = new AbortController()
    const woke: string[] = []
    const first = clock.sleepUntil(1_000, shared.signal).then(() => { woke.push('first') })
    const other = new AbortController()
    const second = clock.sleepUntil(5_000, other.signal).then(() => { woke.push('second') })
    await clock.advance(2_000)
    await first
    // A signal shared by many sleeps (a loop's stop signal) aborts after the first woke.
    shared.abort()
    await clock.advance(3_000)
    // `advance` lets each sleeper it wakes run before it returns.
    expect(woke).toEqual(['first', 'second'])
    await second
    expect(clock.now()).toBe(5_000)
  })

  it('drops a sleeper whose signal aborts, which rejects with the reason', async () => {
    const clock = new ManualClock(0)
    const stop = new AbortController()
    const sleeping = clock.sleepUntil(1_000, stop.signal)
    stop.abort(new Error('stopped'))
    await expect(sleeping).rejects.toThrow('stopped')
    await clock.advance(2_000)
    expect(clock.now()).toBe(2_000)
  })
})
