import { createTestNetwork, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { setupEchoBot } from '../../bots/echo/bot.ts'
import { LogCapture } from '../helpers/log-capture.ts'

let network: TestNetwork
afterEach(async () => { await network.stop() })

describe('the echo bot', () => {
  it('answers a person 1:1', async () => {
    network = await createTestNetwork()
    const bot = await network.bot(setupEchoBot, { displayName: 'echo' })
    const alice = await network.user('alice')
    await alice.addContact(bot)
    await alice.send('hello, echo')
    expect(await alice.nextReply()).toBe('hello, echo')
    await alice.send('and again')
    expect(await alice.nextReply()).toBe('and again')
  })

  it('logs one line when it accepts a contact and one for each answer, without the text', async () => {
    network = await createTestNetwork()
    const log = new LogCapture('info')
    const bot = await network.bot(setupEchoBot, { displayName: 'echo', logger: log.logger })
    const alice = await network.user('alice')
    await alice.addContact(bot)
    await alice.send('a secret')
    expect(await alice.nextReply()).toBe('a secret')
    await log.waitForLine('the answer logged', (line) => line.msg === 'answered a message')
    expect(log.find((line) => line.msg === 'accepted a contact')).toMatchObject([{ name: 'alice' }])
    expect(log.find((line) => line.msg === 'answered a message')).toMatchObject([{ from: 'alice', characters: 8 }])
    expect(log.find((line) => JSON.stringify(line).includes('a secret'))).toEqual([])
  })

  it('answers in a group of three', async () => {
    network = await createTestNetwork()
    const bot = await network.bot(setupEchoBot, { displayName: 'echo' })
    const [alice, bob] = [await network.user('alice'), await network.user('bob')]
    await alice.addContact(bot)
    const group = await alice.createGroup('three of us')
    await alice.invite(group, bob)
    await alice.invite(group, bot)
    bob.open(bob.peer.group(group.id)!)

    await bob.send('anyone here?')
    // Alice sees bob's message and the bot's echo of it; bob sees the echo.
    const atAlice = [await alice.nextMessage(), await alice.nextMessage()]
    expect(atAlice.map((m) => `${m.sender.displayName}: ${m.text}`)).toEqual(['bob: anyone here?', 'echo: anyone here?'])
    const atBob = await bob.nextMessage()
    expect(`${atBob.sender.displayName}: ${atBob.text}`).toBe('echo: anyone here?')
  })
})
