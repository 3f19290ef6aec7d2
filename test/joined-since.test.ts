import { describe, expect, it } from 'vitest'
import { JoinedSince } from '../src/protocol/joined-since.ts'

describe('entries joined since a time', () => {
  it('knows nothing before it is given the log\'s time', () => {
    const joined = new JoinedSince()
    joined.joined('a', 5, () => 5)
    expect(joined.holds('a', 5)).toBeUndefined()
    expect(joined.holds('b', 100)).toBeUndefined()
  })

  it('tells held from new past the time it started from, and leaves the rest to the disk', () => {
    const joined = new JoinedSince()
    joined.restart(10)
    joined.joined('a', 11, () => 11)
    joined.joined('old', 9, () => 11)
    expect(joined.holds('a', 11)).toBe(true)
    expect(joined.holds('b', 11)).toBe(false)
    expect(joined.holds('old', 9)).toBeUndefined()
    expect(joined.holds('c', 10)).toBeUndefined()
  })

  it('starts over from the log\'s time once it keeps its limit, so it stays small and never wrong', () => {
    const joined = new JoinedSince(2)
    joined.restart(0)
    joined.joined('a', 1, () => 1)
    joined.joined('b', 2, () => 2)
    expect(joined.holds('b', 2)).toBe(true)
    // The third starts over from the log's time after it (3): all three are the disk's to tell now.
    joined.joined('c', 3, () => 3)
    for (const [hash, time] of [['a', 1], ['b', 2], ['c', 3]] as const) expect(joined.holds(hash, time)).toBeUndefined()
    expect(joined.holds('d', 4)).toBe(false)
    joined.joined('d', 4, () => 4)
    expect(joined.holds('d', 4)).toBe(true)
  })
})
