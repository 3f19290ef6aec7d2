import { fork, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { MessageEvent } from 'bertybot/protocol'
import { createTestNetwork, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.ts'

const script = fileURLToPath(new URL('../fixtures/dialogue-bot.ts', import.meta.url))
let network: TestNetwork
let child: ChildProcess | undefined
afterEach(async () => {
  child?.kill('SIGKILL')
  await network.stop()
})

type Die = { on: string, when: 'before-commit' | 'after-commit' }

/** Starts the dialogue bot in its own process; resolves with its link and with its exit (`killed`). */
async function startBot (dataDir: string, ledger: string, die?: Die): Promise<{ link: string, killed: Promise<NodeJS.Signals | null> }> {
  const proc = fork(script, [JSON.stringify({ dataDir, ledger, die })], { execArgv: ['--conditions=bertybot-source'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  child = proc
  const killed = new Promise<NodeJS.Signals | null>((resolve) => proc.once('exit', (_code, signal) => { resolve(signal) }))
  const { link } = await waitFor<{ link: string }>('the bot process to start', (done) => {
    proc.once('message', done as never)
    return () => { proc.off('message', done as never) }
  }, 60_000)
  return { link, killed }
}

const QUESTIONS = ['Which city?', 'How many nights?', '3 nights in Paris for 300. Book? (yes/no)']

describe('a dialogue whose bot is killed with kill -9 at each step', () => {
  it('asks each question once, loses no answer, runs its outside call only when its step was lost, and ends with the right result', async () => {
    network = await createTestNetwork()
    const dataDir = await network.tempDir('dialogue-bot')
    const ledger = join(await network.tempDir('ledger'), 'ledger.txt')
    const alice = await network.user('alice')
    const fromBot: string[] = []
    let bot = await startBot(dataDir, ledger, { on: '/book', when: 'before-commit' })
    const botAccount = (await alice.addContact(bot.link)).contact
    alice.peer.on('message', (m: MessageEvent) => { if (m.sender.account === botAccount) fromBot.push(m.text) })

    // What alice sends, each killing the bot twice: before the step it makes is committed, then right after.
    const answers = ['/book', 'Paris', '3', 'yes']
    for (const [i, answer] of answers.entries()) {
      // The bot of this round is to die before it commits `answer`; it is started, and asks the question before it, if any.
      if (i > 0) {
        bot = await startBot(dataDir, ledger, { on: answer, when: 'before-commit' })
        expect(await alice.nextReply({ timeoutMs: 60_000 })).toBe(QUESTIONS[i - 1])
      }
      await alice.send(answer)
      expect(await bot.killed).toBe('SIGKILL')
      // The answer was not committed: the next bot gets it again, commits it, and dies right after.
      bot = await startBot(dataDir, ledger, { on: answer, when: 'after-commit' })
      expect(await bot.killed).toBe('SIGKILL')
    }
    // A bot that is left running sends what the last step queued.
    bot = await startBot(dataDir, ledger)
    expect(await alice.nextReply({ timeoutMs: 60_000 })).toBe('Booked: 3 nights in Paris.')
    await alice.send('over')
    expect(await alice.nextReply({ timeoutMs: 60_000 })).toBe('you said: over')

    // Each question once, in order, then the result: nothing asked twice, no answer lost.
    expect(fromBot).toEqual([...QUESTIONS, 'Booked: 3 nights in Paris.', 'you said: over'])
    // The outside call ran when its step was taken before the kill that lost it, and once more when the step was
    // committed; the replays of the later steps gave its recorded result back without calling it.
    expect((await readFile(ledger, 'utf8')).split('\n').filter((line) => line !== '')).toEqual(['3 nights in Paris', '3 nights in Paris'])
  }, 400_000)
})
