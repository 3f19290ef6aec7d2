import { describe, expect, it } from 'vitest'
import { AbsentEntries } from '../src/protocol/absent-entries.ts'

describe('entries known absent', () => {
  it('keeps a hash not found until the log takes it', () => {
    const absent = new AbsentEntries()
    absent.notFound('a', absent.lookingUp())
    expect(absent.has('a')).toBe(true)
    absent.taken('a')
    expect(absent.has('a')).toBe(false)
  })

  it('does not keep what a look-up under way while the log took an entry did not find', () => {
    const absent = new AbsentEntries()
    const since = absent.lookingUp()
    // The entry is written while the read was under way: the read may have missed it.
    absent.taken('a')
    absent.notFound('a', since)
    expect(absent.has('a')).toBe(false)
    absent.notFound('a', absent.lookingUp())
    expect(absent.has('a')).toBe(true)
  })

  it('keeps at most as many as it is given, the latest', () => {
    const absent = new AbsentEntries(2)
    for (const hash of ['a', 'b', 'c']) absent.notFound(hash, absent.lookingUp())
    expect(['a', 'b', 'c'].map((hash) => absent.has(hash))).toEqual([false, true, true])
  })
})
