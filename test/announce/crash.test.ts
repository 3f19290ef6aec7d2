/**
 * The announcement bot killed with `kill -9` in the middle of a broadcast,
 * several times: after each restart it finishes the broadcast from its
 * outbox, and every subscriber has each announcement exactly once.
 *
 * The bot runs as in production (`bots/announce/index.ts`, its own process)
 * with BERTYBOT_CONCURRENCY=1, so that its outbox sends to one conversation
 * at a time and a kill lands between two sends. The subscribers and the
 * admin are real peers in the test's process, on 127.0.0.1.
 */
import { join } from 'node:path'
import { createLogger, createPeer, type MessageEvent } from 'bertybot/protocol'
import { createTestNetwork, TestUser, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { pollUntil, waitFor } from '../helpers/wait.ts'
import { INTRO } from './helpers.ts'
import { accountOf, ask, botEnvironment, cleanUp, meetBot, startAnnounceProcess, type AnnounceProcess } from './process-helpers.ts'

/**
 * How many subscribers, as the issue asks. Two faults of the peer showed up
 * here first: past 13 peers on one address, gossipsub's IP colocation
 * penalty stopped the bot publishing to them; and a chain key that arrived
 * before its device's arrival was dropped, leaving a greeting unreadable.
 */
const SUBSCRIBERS = 50
/** Each round's kill comes once this many subscribers have the round's announcement. */
const KILL_AFTER = [1, Math.ceil(SUBSCRIBERS / 3), Math.ceil((2 * SUBSCRIBERS) / 3)]
const TIMEOUT_MS = 120_000

let network: TestNetwork | undefined
const peers: Array<{ stop: () => Promise<void> }> = []
afterEach(async ({ task }) => {
  await cleanUp(task.result?.state === 'fail')
  await Promise.allSettled(peers.splice(0).map(async (peer) => { await peer.stop() }))
  await network?.stop()
  network = undefined
})

/**
 * A subscriber: a test user whose peer runs without the DHT, so that it
 * talks to the bot only (fifty peers of one process finding each other
 * through the DHT is work for the test's process, not for the bot).
 */
async function subscriber (net: TestNetwork, name: string): Promise<TestUser> {
  const peer = await createPeer({ dataDir: await net.tempDir(name), displayName: name, logger: createLogger({ level: 'warn' }), dht: 'off' })
  peers.push(peer)
  return new TestUser(name, peer)
}

/** What each user got from the bot, in order of arrival, with a wait on a condition over all of it. */
class Received {
  readonly texts = new Map<TestUser, string[]>()
  readonly #waiters = new Set<() => void>()

  constructor (users: TestUser[], from: string) {
    for (const user of users) {
      const texts: string[] = []
      this.texts.set(user, texts)
      user.peer.on('message', (m: MessageEvent) => {
        if (m.sender.account !== from) return
        texts.push(m.text)
        for (const wake of this.#waiters) wake()
      })
    }
  }

  /** How many users have `text`. */
  having (text: string): number {
    return [...this.texts.values()].filter((texts) => texts.includes(text)).length
  }

  async until (what: string, predicate: () => boolean, timeoutMs = TIMEOUT_MS): Promise<void> {
    await waitFor(what, (done) => {
      const check = (): void => { if (predicate()) done(true) }
      this.#waiters.add(check)
      check()
      return () => { this.#waiters.delete(check) }
    }, timeoutMs)
  }
}

describe('the announcement bot killed with kill -9 during a broadcast, several times', () => {
  it(`gives each of ${SUBSCRIBERS} subscribers every announcement exactly once after its restarts`, async () => {
    network = await createTestNetwork()
    const net = network
    const admin = await net.user('admin')
    const dir = await net.tempDir('announce-crash')
    const env = botEnvironment(join(dir, 'data'), { ANNOUNCE_ADMINS: admin.peer.accountId, BERTYBOT_CONCURRENCY: '1', BERTYBOT_LOG_LEVEL: 'warn' })
    let { bot, link } = await startAnnounceProcess({ cwd: dir, env })
    const processes = [bot]
    const botAccount = accountOf(link)

    const subscribers = await Promise.all(Array.from({ length: SUBSCRIBERS }, async (_, i) => await subscriber(net, `subscriber-${i}`)))
    const received = new Received([admin, ...subscribers], botAccount)
    await meetBot(admin, link)
    // One contact request at a time: the bot takes at most 5 new connections a second from one
    // address (libp2p's inbound threshold), and a refused one is retried only after a back-off.
    const subscribing: Array<Promise<void>> = []
    for (const user of subscribers) {
      await meetBot(user, link)
      const subscribed = (async () => { expect(await ask(user, '/subscribe')).toMatch(/^Subscribed/) })()
      subscribed.catch(() => {})
      subscribing.push(subscribed)
    }
    await Promise.all(subscribing)

    const restart = async (): Promise<AnnounceProcess> => {
      const started = await startAnnounceProcess({ cwd: dir, env })
      // The same account, on the same data directory (its listening port is a new one).
      expect(accountOf(started.link)).toBe(botAccount)
      processes.push(started.bot)
      return started.bot
    }
    const rounds: Array<{ text: string, atKill: number, atRestart: number }> = []
    for (const [index, killAfter] of KILL_AFTER.entries()) {
      const text = `Announcement ${index + 1}`
      await admin.send(`/announce now ${text}`)
      await received.until(`${killAfter} subscribers to have "${text}"`, () => received.having(text) >= killAfter)
      const atKill = received.having(text)
      expect(await bot.kill9()).toEqual({ code: null, signal: 'SIGKILL' })
      // Once every peer has seen its connection to the killed process close, nothing it sent is
      // still on the way: whoever lacks the announcement then can only get it from the next process.
      await pollUntil('every peer to see the killed bot gone', () => [admin, ...subscribers].every((u) => u.peer.connectedPeers().length === 0))
      rounds.push({ text, atKill, atRestart: received.having(text) })
      bot = await restart()
      await received.until(`every subscriber to have "${text}" after the restart`, () => received.having(text) === SUBSCRIBERS)
    }

    // A last announcement, from a bot that is not killed: once every subscriber has it, anything sent twice would be in.
    await admin.send('/announce now Probe')
    await received.until('every subscriber to have the probe', () => received.having('Probe') === SUBSCRIBERS)
    const sentTo = `Sent to ${SUBSCRIBERS} conversations.`
    await received.until('the admin to have the answer to each /announce now', () => (received.texts.get(admin) ?? []).filter((t) => t === sentTo).length >= KILL_AFTER.length + 1)

    // Some kill landed mid-broadcast: a subscriber got that round's announcement from the restarted bot only.
    expect(rounds.some((r) => r.atRestart > 0 && r.atRestart < SUBSCRIBERS), JSON.stringify(rounds)).toBe(true)
    const announcements = [...rounds.map((r) => r.text), 'Probe']
    for (const user of subscribers) {
      const texts = received.texts.get(user) ?? []
      expect(texts.filter((t) => INTRO.test(t)), user.name).toHaveLength(1)
      expect(texts.filter((t) => t.startsWith('Subscribed')), user.name).toHaveLength(1)
      // Each announcement once, in the order they were made, and nothing else.
      expect(texts.filter((t) => !INTRO.test(t) && !t.startsWith('Subscribed')), user.name).toEqual(announcements)
    }
    // The admin's answers were in the same transactions: once each too.
    expect((received.texts.get(admin) ?? []).filter((t) => t.startsWith('Sent to'))).toEqual(announcements.map(() => sentTo))
    expect(processes.flatMap((p) => p.logLines().filter((l) => l.level >= 50))).toEqual([])
    console.info(`kills landed after ${rounds.map((r) => `${r.atKill} (${r.atRestart} at restart)`).join(', ')} of ${SUBSCRIBERS}`)
  }, 240_000)
})
