import { describe, expect, it } from 'vitest'
import { randomBytes } from '../src/protocol/crypto.ts'
import { OwnChain, RESERVED_COUNTERS } from '../src/protocol/own-chain.ts'
import { receiverChainFrom, takeMessageKey, type ReceiverChain } from '../src/protocol/ratchet.ts'
import { StateStore } from '../src/protocol/state-store.ts'
import { tempDir } from './helpers/temp.ts'

const groupKey = randomBytes(32)
const stateId = 'group-1'

/** Seals `count` messages' keys one by one, writing what each asks for; returns them by counter and how many writes it took. */
async function sealKeys (state: StateStore, chain: OwnChain, count: number): Promise<{ keys: Map<number, Uint8Array>, writes: number }> {
  const keys = new Map<number, Uint8Array>()
  let writes = 0
  for (let i = 0; i < count; i++) {
    const advance = chain.advance(1)
    if (advance.ops.length > 0) {
      await state.batch(advance.ops)
      writes++
    }
    advance.committed()
    for (const step of advance.steps) keys.set(step.counter, step.messageKey)
  }
  return { keys, writes }
}

function take (receiver: ReceiverChain, counter: number): { messageKey: Uint8Array, receiver: ReceiverChain } {
  const lookup = takeMessageKey(receiver, counter, groupKey)
  if (lookup.outcome !== 'found') throw new Error(`counter ${counter}: ${lookup.outcome}`)
  return { messageKey: lookup.messageKey, receiver: lookup.chain }
}

describe('our chain, stored ahead of its use', () => {
  it('is written once for every RESERVED_COUNTERS messages sealed one by one, and once for a batch past them', async () => {
    const state = await StateStore.open(await tempDir('own-chain'))
    try {
      const chain = await OwnChain.open(state, stateId, groupKey)
      const { keys, writes } = await sealKeys(state, chain, 3 * (RESERVED_COUNTERS + 1))
      expect([...keys.keys()]).toEqual(Array.from({ length: 3 * (RESERVED_COUNTERS + 1) }, (_, i) => i + 1))
      expect(writes).toBe(3)
      const batch = chain.advance(2 * RESERVED_COUNTERS)
      expect(batch.ops).toHaveLength(1)
      expect(batch.steps.map((step) => step.counter)[0]).toBe(3 * (RESERVED_COUNTERS + 1) + 1)
    } finally {
      await state.close()
    }
  })

  it('after a crash goes on past every counter used, with keys a receiver derives from the chain it was given', async () => {
    const dir = await tempDir('own-chain')
    let state = await StateStore.open(dir)
    const chain = await OwnChain.open(state, stateId, groupKey)
    const shared = chain.current
    const before = await sealKeys(state, chain, 5)
    // A crash: the state closes without the chain as it stands.
    await state.close()
    state = await StateStore.open(dir)
    try {
      const resumed = await OwnChain.open(state, stateId, groupKey)
      expect(resumed.current.counter).toBeGreaterThan(5)
      expect(resumed.current.counter).toBeLessThanOrEqual(5 + RESERVED_COUNTERS)
      const after = await sealKeys(state, resumed, 3)
      let receiver = receiverChainFrom(shared)
      for (const [counter, key] of [...before.keys, ...after.keys]) {
        const taken = take(receiver, counter)
        expect(taken.messageKey).toEqual(key)
        receiver = taken.receiver
      }
      expect(Math.min(...after.keys.keys())).toBeGreaterThan(5)
    } finally {
      await state.close()
    }
  })

  it('after a clean close goes on from the next counter, skipping none', async () => {
    const dir = await tempDir('own-chain')
    let state = await StateStore.open(dir)
    const chain = await OwnChain.open(state, stateId, groupKey)
    await sealKeys(state, chain, 5)
    await state.batch(chain.closeOps())
    expect(chain.closeOps()).toEqual([])
    await state.close()
    state = await StateStore.open(dir)
    try {
      const resumed = await OwnChain.open(state, stateId, groupKey)
      expect(resumed.current.counter).toBe(5)
      expect(resumed.current.chainKey).toEqual(chain.current.chainKey)
      const next = await sealKeys(state, resumed, 1)
      expect([...next.keys.keys()]).toEqual([6])
    } finally {
      await state.close()
    }
  })
})
