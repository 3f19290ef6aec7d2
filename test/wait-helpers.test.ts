/** The tests' own waits (`helpers/wait.ts`): a wait that fails says why. */
import { describe, expect, it } from 'vitest'
import { pollUntil } from './helpers/wait.ts'

describe('pollUntil', () => {
  it('asks a condition that threw again, and resolves once it holds', async () => {
    let asked = 0
    await pollUntil('the third answer', () => {
      asked++
      if (asked < 3) throw new Error('not there yet')
      return true
    }, 10_000)
    expect(asked).toBe(3)
  })

  it('says on timeout what the condition last threw, synchronously or not', async () => {
    await expect(pollUntil('a state that never comes', () => { throw new Error('no such group') }, 300))
      .rejects.toThrow('timed out after 300 ms waiting for a state that never comes; the condition last threw: Error: no such group')
    await expect(pollUntil('a state that never comes', async () => { throw new Error('closed') }, 300))
      .rejects.toThrow('the condition last threw: Error: closed')
    await expect(pollUntil('a state that never comes', () => false, 300)).rejects.toThrow(/^timed out after 300 ms waiting for a state that never comes$/)
  })
})
