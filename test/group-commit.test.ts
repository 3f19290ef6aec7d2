/**
 * Group commit: batches asked for in one turn of the event loop go together
 * at its end, and those asked for while one is written together next;
 * writes made `later` wait for the next batch, or go alone after a while,
 * and always in the order they were asked for.
 */
import { describe, expect, it } from 'vitest'
import { GroupCommit } from '../src/protocol/group-commit.ts'

/** A group commit over a write that records each batch and waits until released (when `hold` is set). */
function recorded (): { commit: GroupCommit<string>, writes: string[][], hold: () => () => void } {
  const writes: string[][] = []
  let gate: Promise<void> | undefined
  const commit = new GroupCommit<string>(async (ops) => {
    writes.push(ops)
    await gate
  })
  const hold = (): () => void => {
    let release!: () => void
    gate = new Promise<void>((resolve) => { release = resolve })
    return () => { gate = undefined; release() }
  }
  return { commit, writes, hold }
}

describe('GroupCommit', () => {
  it('writes the batches of one turn together at its end, and those asked for during the write together next', async () => {
    const { commit, writes, hold } = recorded()
    const release = hold()
    const first = commit.batch(['a'])
    const second = commit.batch(['b'])
    expect(writes).toEqual([])
    await new Promise((resolve) => setImmediate(resolve))
    expect(writes).toEqual([['a', 'b']])
    const third = commit.batch(['c'])
    const fourth = commit.batch(['d', 'e'])
    await new Promise((resolve) => setImmediate(resolve))
    expect(writes).toEqual([['a', 'b']])
    release()
    await Promise.all([first, second, third, fourth])
    expect(writes).toEqual([['a', 'b'], ['c', 'd', 'e']])
  })

  it('writes a later write with the next batch, before it', async () => {
    const { commit, writes } = recorded()
    const later = commit.later(['tidy'])
    expect(writes).toEqual([])
    await commit.batch(['put'])
    await later
    expect(writes).toEqual([['tidy', 'put']])
  })

  it('writes a later write alone when no batch comes', async () => {
    const { commit, writes } = recorded()
    const later = commit.later(['tidy'])
    await new Promise((resolve) => setImmediate(resolve))
    expect(writes).toEqual([])
    await later
    expect(writes).toEqual([['tidy']])
  })

  it('keeps later writes asked for during a write for the next batch', async () => {
    const { commit, writes, hold } = recorded()
    const release = hold()
    const first = commit.batch(['a'])
    await new Promise((resolve) => setImmediate(resolve))
    const later = commit.later(['tidy'])
    release()
    await first
    await new Promise((resolve) => setImmediate(resolve))
    expect(writes).toEqual([['a']])
    await commit.batch(['b'])
    await later
    expect(writes).toEqual([['a'], ['tidy', 'b']])
  })

  it('writes what waits when asked to be idle (before its database closes)', async () => {
    const { commit, writes } = recorded()
    let written = false
    void commit.later(['tidy']).then(() => { written = true })
    await commit.idle()
    expect(writes).toEqual([['tidy']])
    await Promise.resolve()
    expect(written).toBe(true)
  })

  it('writes each alone when a batch with others fails, in order, failing only the bad one', async () => {
    const writes: string[][] = []
    const commit = new GroupCommit<string>(async (ops) => {
      writes.push(ops)
      if (ops.includes('bad')) throw new Error('refused')
    })
    const later = commit.later(['tidy'])
    const bad = commit.batch(['bad'])
    const good = commit.batch(['good'])
    await expect(bad).rejects.toThrow('refused')
    await good
    await later
    expect(writes).toEqual([['tidy', 'bad', 'good'], ['tidy'], ['bad'], ['good']])
  })
})
