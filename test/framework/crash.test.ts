import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { MessageEvent, ReactionEvent } from 'bertybot/protocol'
import { createTestNetwork, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.ts'

const script = fileURLToPath(new URL('../fixtures/bot-process.ts', import.meta.url))
let network: TestNetwork
let child: ChildProcess | undefined
afterEach(async () => {
  child?.kill('SIGKILL')
  await network.stop()
})

async function startBot (dataDir: string): Promise<{ link: string, process: ChildProcess }> {
  const proc = fork(script, [JSON.stringify({ dataDir })], { execArgv: ['--conditions=bertybot-source'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  child = proc
  const { link } = await waitFor<{ link: string }>('the bot process to start', (done) => {
    proc.once('message', done as never)
    return () => { proc.off('message', done as never) }
  }, 60_000)
  return { link, process: proc }
}

async function kill9 (proc: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => proc.once('exit', resolve))
  proc.kill('SIGKILL')
  await exited
}

describe('a bot killed with kill -9 in the middle of a burst, several times', () => {
  it('handles every message exactly once, and every reply arrives once', async () => {
    network = await createTestNetwork()
    const dataDir = await network.tempDir('crash-bot')
    let bot = await startBot(dataDir)
    const alice = await network.user('alice')
    const replies: MessageEvent[] = []
    alice.peer.on('message', (m) => { if (m.text.startsWith('handled ')) replies.push(m) })
    await alice.addContact(bot.link)

    const sent = new Map<string, string>()
    for (let i = 0; i < 200; i++) sent.set(await alice.send(`m${i}`), `m${i}`)

    // Kill it at a few points while it works through the burst, each time restarting it.
    for (const after of [20, 60, 100, 150]) {
      await waitFor(`${after} replies before the next kill`, (done) => {
        const check = (): void => { if (replies.length >= after) done(true) }
        alice.peer.on('message', check)
        check()
        return () => { alice.peer.off('message', check) }
      }, 120_000)
      await kill9(bot.process)
      bot = await startBot(dataDir)
    }
    await waitFor('a reply to each of the 200 messages', (done) => {
      const check = (): void => { if (new Set(replies.map((r) => r.replyTo)).size >= 200) done(true) }
      alice.peer.on('message', check)
      check()
      return () => { alice.peer.off('message', check) }
    }, 180_000)

    // Each message got one reply, and the reply is to that message.
    const byTarget = new Map<string, number>()
    for (const reply of replies) byTarget.set(reply.replyTo ?? '', (byTarget.get(reply.replyTo ?? '') ?? 0) + 1)
    expect([...byTarget.values()].every((n) => n === 1)).toBe(true)
    expect(replies.every((r) => r.text === `handled ${sent.get(r.replyTo ?? '') ?? '?'}`)).toBe(true)
    // The bot's own count: 200 handled, none twice.
    await alice.send('/stats')
    const stats = JSON.parse(await waitForText(alice, (t) => t.startsWith('{'))) as { count: number, duplicates: string[] }
    expect(stats).toEqual({ count: 200, duplicates: [] })
  }, 300_000)
})

describe('a message the bot accepted to send', () => {
  it('is sent after a crash right after it was accepted, once', async () => {
    network = await createTestNetwork()
    const dataDir = await network.tempDir('crash-bot')
    const bot = await startBot(dataDir)
    const alice = await network.user('alice')
    await alice.addContact(bot.link)
    // A round trip first: the bot has the conversation open.
    await alice.send('/stats')
    expect(await alice.nextReply()).toMatch(/^\{"count":0/)
    const exited = new Promise((resolve) => bot.process.once('exit', resolve))
    bot.process.send({ sendAndDie: { to: alice.peer.accountId, text: 'accepted, then the lights went out' } })
    await exited
    await startBot(dataDir)
    expect(await alice.nextReply()).toBe('accepted, then the lights went out')
    await alice.send('/stats')
    expect(await alice.nextReply()).toMatch(/^\{"count":0/)
  })
})

describe('a reaction the bot queued', () => {
  it('is sent once, after a crash that came before it could leave', async () => {
    network = await createTestNetwork()
    const dataDir = await network.tempDir('crash-bot')
    const bot = await startBot(dataDir)
    const alice = await network.user('alice')
    const reactions: ReactionEvent[] = []
    alice.peer.on('reaction', (r) => { reactions.push(r) })
    await alice.addContact(bot.link)
    await alice.send('/stats')
    expect(await alice.nextReply()).toMatch(/^\{"count":0/)
    const exited = new Promise((resolve) => bot.process.once('exit', resolve))
    const asked = await alice.send('/react-and-die')
    await exited
    expect(reactions).toEqual([])
    await startBot(dataDir)
    expect(await alice.nextReaction({ timeoutMs: 60_000 })).toMatchObject({ target: asked, emoji: '👍', removed: false })
    // The command was handled before the crash: it is not run again; the reply to a later message comes after any second reaction would have.
    await alice.send('/stats')
    expect(await alice.nextReply()).toMatch(/^\{"count":0/)
    expect(reactions.map((r) => r.target)).toEqual([asked])
  })
})

describe('a block', () => {
  it('survives a crash right after it was committed', async () => {
    network = await createTestNetwork()
    const dataDir = await network.tempDir('crash-bot')
    const bot = await startBot(dataDir)
    const [alice, bob] = [await network.user('alice'), await network.user('bob')]
    await alice.addContact(bot.link)
    await bob.addContact(bot.link)
    await bob.send('/blocked')
    expect(await bob.nextReply()).toBe('[]')
    const exited = new Promise((resolve) => bot.process.once('exit', resolve))
    await alice.send('/block-me-and-die')
    await exited
    await startBot(dataDir)
    await bob.send('/blocked')
    expect(JSON.parse(await bob.nextReply())).toEqual([alice.peer.accountId])
  })
})

describe('a bot asked to stop with SIGTERM', () => {
  it('answers what it was handling, then its process ends by itself, with code 0', async () => {
    network = await createTestNetwork()
    const bot = await startBot(await network.tempDir('term-bot'))
    const alice = await network.user('alice')
    await alice.addContact(bot.link)
    await alice.send('last words')
    expect(await alice.nextReply()).toBe('handled last words')
    const exited = new Promise<number | null>((resolve) => bot.process.once('exit', (code) => { resolve(code) }))
    bot.process.disconnect()
    bot.process.kill('SIGTERM')
    expect(await exited).toBe(0)
  })
})

async function waitForText (user: Awaited<ReturnType<TestNetwork['user']>>, predicate: (text: string) => boolean): Promise<string> {
  for (;;) {
    const text = await user.nextReply({ timeoutMs: 60_000 })
    if (predicate(text)) return text
  }
}
