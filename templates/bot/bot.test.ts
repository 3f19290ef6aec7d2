/**
 * Tests run the bot on a real network, in this process: real peers on
 * 127.0.0.1 with temporary data directories, nothing mocked. `npm test`.
 */
import { createTestNetwork, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { setup } from './bot.ts'

let network: TestNetwork | undefined
afterEach(async () => {
  await network?.stop()
  network = undefined
})

describe('the bot', () => {
  it('welcomes a new contact and rolls a die', async () => {
    network = await createTestNetwork()
    const bot = await network.bot(setup)
    const alice = await network.user('alice')
    await alice.addContact(bot)
    expect(await alice.nextReply()).toMatch(/\/roll/)

    await alice.send('/roll 6')
    const match = /^You rolled (\d+) \(1-6\)\.$/.exec(await alice.nextReply())
    expect(match).not.toBeNull()
    const rolled = Number(match?.[1])
    expect(rolled).toBeGreaterThanOrEqual(1)
    expect(rolled).toBeLessThanOrEqual(6)
  })

  it('explains a bad argument, and what it understands', async () => {
    network = await createTestNetwork()
    const bot = await network.bot(setup)
    const alice = await network.user('alice')
    await alice.addContact(bot)
    await alice.nextReply()   // the welcome

    await alice.send('/roll banana')
    const reply = await alice.nextReply()
    expect(reply).toMatch(/sides/)
    expect(reply).toMatch(/Usage: \/roll \[sides\]/)

    await alice.send('hello?')
    expect(await alice.nextReply()).toMatch(/\/help/)
  })
})
