/** The rate limit's counts: a window per sender, the same answer for an event run again, and memory that stays bounded. */
import { describe, expect, it } from 'vitest'
import { SenderWindows } from '../../src/framework/sender-windows.ts'

const MINUTE = 60_000

describe('the rate limit\'s windows', () => {
  it('admits the limit in a window, tells the first event over it, and opens a new window once it has passed', () => {
    const windows = new SenderWindows({ limit: 2, windowMs: MINUTE, maxSenders: 100 })
    expect(windows.decide('alice', 'm1', 0)).toEqual({ admitted: true })
    expect(windows.decide('alice', 'm2', 10_000)).toEqual({ admitted: true })
    expect(windows.decide('alice', 'm3', 20_000)).toEqual({ admitted: false, notify: true, reopensAt: MINUTE })
    expect(windows.decide('alice', 'm4', 30_000)).toEqual({ admitted: false, notify: false, reopensAt: MINUTE })
    expect(windows.decide('bob', 'b1', 30_000)).toEqual({ admitted: true })
    expect(windows.decide('alice', 'm5', MINUTE - 1)).toMatchObject({ admitted: false, notify: false })
    expect(windows.decide('alice', 'm6', MINUTE)).toEqual({ admitted: true })
  })

  it('gives an event that runs again the answer it had: counted once, and the one told is told again', () => {
    const windows = new SenderWindows({ limit: 1, windowMs: MINUTE, maxSenders: 100 })
    expect(windows.decide('alice', 'm1', 0)).toEqual({ admitted: true })
    expect(windows.decide('alice', 'm1', 1)).toEqual({ admitted: true })
    expect(windows.decide('alice', 'm2', 2)).toMatchObject({ admitted: false, notify: true })
    expect(windows.decide('alice', 'm2', 3)).toMatchObject({ admitted: false, notify: true })
    expect(windows.decide('alice', 'm3', 4)).toMatchObject({ admitted: false, notify: false })
  })

  it('forgets the windows that ended as time passes', () => {
    const windows = new SenderWindows({ limit: 5, windowMs: MINUTE, maxSenders: 100_000 })
    for (let i = 0; i < 10_000; i++) windows.decide(`sender${i}`, 'm', i)
    expect(windows.size).toBe(10_000)
    windows.decide('late', 'm', MINUTE + 5_000)
    // The windows opened before 5 s ended: only those opened after, and the new one, are left.
    expect(windows.size).toBe(10_000 - 5_001 + 1)
    windows.decide('later', 'm', 10 * MINUTE)
    expect(windows.size).toBe(1)
  })

  it('remembers at most maxSenders at once, forgetting the oldest window first', () => {
    const windows = new SenderWindows({ limit: 1, windowMs: MINUTE, maxSenders: 100 })
    windows.decide('first', 'm1', 0)
    expect(windows.decide('first', 'm2', 0)).toMatchObject({ admitted: false })
    for (let i = 0; i < 1_000; i++) windows.decide(`sender${i}`, 'm', 1)
    expect(windows.size).toBe(100)
    // Its window was forgotten: it starts afresh.
    expect(windows.decide('first', 'm3', 2)).toEqual({ admitted: true })
    expect(windows.decide('sender999', 'again', 2)).toMatchObject({ admitted: false, notify: true })
  })
})
