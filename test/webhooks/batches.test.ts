/** Group commit: jobs that come while a commit runs share the next one; one job's failure fails only it. */
import type { TaskContext } from 'bertybot'
import { describe, expect, it } from 'vitest'
import { BatchedRunner } from '../../src/bridge/batches.ts'

/** A `run` that commits nothing (the jobs here only return values) but records how many jobs each commit held. */
function runner (): { batched: BatchedRunner, commits: number[], job: <T>(value: T) => (ctx: TaskContext) => Promise<T> } {
  const commits: number[] = []
  let jobs = 0
  const batched = new BatchedRunner(async <T>(fn: (ctx: TaskContext) => Promise<T>): Promise<T> => {
    jobs = 0
    const result = await fn({} as TaskContext)
    commits.push(jobs)
    // A commit takes a moment: what is submitted meanwhile waits for the next.
    await new Promise((resolve) => setImmediate(resolve))
    return result
  })
  const job = <T>(value: T) => async (): Promise<T> => { jobs++; return value }
  return { batched, commits, job }
}

describe('BatchedRunner', () => {
  it('commits what came meanwhile together, and answers each job with its own result, in order', async () => {
    const { batched, commits, job } = runner()
    const results = await Promise.all(Array.from({ length: 10 }, async (_, i) => await batched.submit(job(i))))
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(commits).toEqual([1, 9])
  })

  it('fails only the job that throws, and takes jobs submitted right as a batch ends', async () => {
    const { batched, job } = runner()
    const outcomes = await Promise.allSettled([
      batched.submit(job('first')),
      batched.submit(async () => { throw new Error('bad job') }),
      batched.submit(job('third'))
    ])
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    for (let i = 0; i < 50; i++) {
      await batched.submit(job(i))
      expect(await batched.submit(job(i + 1))).toBe(i + 1)
    }
    await batched.idle()
  })
})
