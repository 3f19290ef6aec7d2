/** A scope's keys kept in memory (the blocked accounts, asked about at every event): current after every commit, and only after it. */
import { describe, expect, it } from 'vitest'
import { StateConflictError } from '../../src/framework/errors.ts'
import { BotStore } from '../../src/framework/store.ts'
import { tempDir } from '../helpers/temp.ts'

describe('the store\'s keys of a scope', () => {
  it('reads them once, follows commits that put and delete them, ignores other scopes and failed commits, and finds them again after a reopen', async () => {
    const dir = await tempDir('store')
    let store = await BotStore.open(dir)
    const before = store.transaction()
    before.set('_blocked', 'ann', { v: 1, since: 1 })
    await before.commit()
    expect([...await store.stateKeys('_blocked')]).toEqual(['ann'])

    const tx = store.transaction()
    tx.set('_blocked', 'bob', { v: 1, since: 2 })
    tx.set('_blockedness', 'cid', 1)
    tx.set('other', 'dan', 1)
    tx.delete('_blocked', 'ann')
    // Not in memory before the commit: a transaction's writes count once committed, never half.
    expect([...await store.stateKeys('_blocked')]).toEqual(['ann'])
    await tx.commit()
    expect([...await store.stateKeys('_blocked')]).toEqual(['bob'])

    // A transaction that read a key another commit wrote since fails, and changes nothing.
    const stale = store.transaction()
    await stale.get('_blocked', 'bob')
    const winner = store.transaction()
    winner.set('_blocked', 'bob', { v: 1, since: 3 })
    await winner.commit()
    stale.set('_blocked', 'eve', { v: 1, since: 4 })
    await expect(stale.commit()).rejects.toBeInstanceOf(StateConflictError)
    expect([...await store.stateKeys('_blocked')]).toEqual(['bob'])

    await store.close()
    store = await BotStore.open(dir)
    expect([...await store.stateKeys('_blocked')]).toEqual(['bob'])
    await store.close()
  })
})
