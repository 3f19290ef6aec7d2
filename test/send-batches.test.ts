/**
 * Calls queued behind others in a one-at-a-time queue are done together when
 * their turn comes, in order, unless another kind of task came between them.
 */
import PQueue from 'p-queue'
import { describe, expect, it } from 'vitest'
import { SendBatches } from '../src/protocol/send-batches.ts'

/** A queue held busy until released, and batches that record what each run was given. */
function busyQueue (max = 10): { queue: PQueue, batches: SendBatches<string, string>, runs: string[][], release: () => void } {
  const queue = new PQueue({ concurrency: 1 })
  let release!: () => void
  void queue.add(async () => { await new Promise<void>((resolve) => { release = resolve }) })
  const runs: string[][] = []
  const batches = new SendBatches<string, string>(queue, max, async (items) => {
    runs.push(items)
    return items.map((item) => item === 'bad' ? new Error(`refused ${item}`) : `sent ${item}`)
  })
  return { queue, batches, runs, release: () => { release() } }
}

describe('SendBatches', () => {
  it('does the calls that waited for their turn in one run, each answered with its own outcome', async () => {
    const { batches, runs, release } = busyQueue()
    const calls = ['a', 'b', 'c'].map(async (item) => await batches.add(item))
    release()
    expect(await Promise.all(calls)).toEqual(['sent a', 'sent b', 'sent c'])
    expect(runs).toEqual([['a', 'b', 'c']])
  })

  it('starts a new batch after another kind of task is queued, and when one is full', async () => {
    const { queue, batches, runs, release } = busyQueue(2)
    const calls = [batches.add('a'), batches.add('b'), batches.add('c')]
    batches.close()
    void queue.add(async () => { runs.push(['another task']) })
    calls.push(batches.add('d'))
    release()
    await Promise.all(calls)
    expect(runs).toEqual([['a', 'b'], ['c'], ['another task'], ['d']])
  })

  it('rejects only the call whose outcome is an error, and every call of a run that throws', async () => {
    const { batches, release } = busyQueue()
    const good = batches.add('good')
    const bad = batches.add('bad')
    release()
    await expect(good).resolves.toBe('sent good')
    await expect(bad).rejects.toThrow('refused bad')

    const queue = new PQueue({ concurrency: 1 })
    const failing = new SendBatches<string, string>(queue, 10, async () => { throw new Error('the log is closed') })
    await expect(Promise.all([failing.add('x'), failing.add('y')])).rejects.toThrow('the log is closed')
    await expect(failing.add('z')).rejects.toThrow('the log is closed')
  })
})
