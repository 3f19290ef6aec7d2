/**
 * At the sizes users live at: a bot that a hundred people add at once, and a
 * group of fifty. The bot runs as in production, in a process of its own;
 * the people are spread over a few processes of many peers each
 * (`PeerHost`). Timeouts are generous: these tests say that everything
 * arrives, the benchmark (`npm run bench`) says how fast.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { BotProcess, cleanUp } from './helpers/bot-process.ts'
import { PeerHost, type HostEvent } from './helpers/peer-host.ts'
import { tempDir } from './helpers/temp.ts'
import { waitFor } from './helpers/wait.ts'

const ECHO_BOT = fileURLToPath(new URL('../bots/echo/index.ts', import.meta.url))

/** Starts `hosts` processes of `perHost` peers each, all at once. */
async function startHosts (hosts: number, perHost: number, name: string): Promise<PeerHost[]> {
  return await Promise.all(Array.from({ length: hosts }, async (_, h) => await PeerHost.start(perHost, { name: `${name} ${h}` })))
}

/** Resolves once `done()` holds, checked after every event of every host; fails with `progress()` at `timeoutMs`. */
async function untilAll (hosts: PeerHost[], what: string, done: () => boolean, progress: () => string, timeoutMs: number): Promise<void> {
  try {
    await waitFor(what, (resolve) => {
      const check = (): void => { if (done()) resolve(true) }
      const removals = hosts.map((host) => host.on(check))
      check()
      return () => { for (const remove of removals) remove() }
    }, timeoutMs)
  } catch (err) {
    throw new Error(`${(err as Error).message} (${progress()})`)
  }
}

afterEach(async ({ task }) => { await cleanUp(task.result?.state === 'fail') })

describe('at scale', () => {
  it('a bot that 100 people add at once accepts every one and answers every first message, once', async () => {
    const cwd = await tempDir('echo')
    const echo = new BotProcess({ cwd, env: { BERTYBOT_LISTEN: '/ip4/127.0.0.1/tcp/0', BERTYBOT_DATA: join(cwd, 'data') }, entry: ECHO_BOT })
    const link = await echo.link()
    const hosts = await startHosts(4, 25, 'person')
    const people = hosts.flatMap((host, h) => host.peers.map((_, peer) => ({ host, peer, key: `${h}/${peer}`, text: `hello from ${h}/${peer}` })))

    /** Each person's contact group with the bot and the bot's account, once accepted. */
    const accepted = new Map<string, { group: string, bot: string }>()
    /** The texts of what the bot sent each person. */
    const answers = new Map<string, string[]>()
    hosts.forEach((host, h) => host.on((event: HostEvent) => {
      const key = `${h}/${event.peer}`
      if (event.name === 'contactAccepted') {
        accepted.set(key, { group: event.data.group, bot: event.data.account })
        // Each says something as soon as the bot accepted it, as a person would.
        void host.call('send', event.peer, event.data.group, `hello from ${key}`)
      }
      if (event.name === 'message') {
        const contact = accepted.get(key)
        if (contact?.group === event.data.group && contact.bot === event.data.sender) answers.set(key, [...answers.get(key) ?? [], event.data.text])
      }
    }))

    await Promise.all(people.map(async ({ host, peer }) => await host.call('addContact', peer, link)))
    await untilAll(hosts, 'every first message to be answered', () => answers.size === people.length,
      () => `${accepted.size}/${people.length} accepted, ${answers.size}/${people.length} answered`, 300_000)

    for (const { key, text } of people) expect(answers.get(key), key).toEqual([text])
    expect(new Set([...accepted.values()].map((c) => c.bot)).size).toBe(1)
    for (const host of hosts) expect(await host.stop()).toEqual({ code: 0, signal: null })
    echo.signal('SIGTERM')
    expect((await echo.exitWithin(30_000)).code).toBe(0)
  }, 480_000)

  it('a group of 50, joined all at once: everyone sees everyone join, and gets every message once', async () => {
    const hosts = await startHosts(2, 25, 'member')
    const members = hosts.flatMap((host, h) => host.peers.map((p, peer) => ({ host, peer, key: `${h}/${peer}`, account: p.accountId })))
    const [creator, ...others] = members
    if (creator === undefined) throw new Error('no members')
    const { id, invitation } = await creator.host.call<{ id: string, invitation: string }>('createGroup', creator.peer, 'fifty')

    const joinsSeen = new Map<string, Set<string>>(members.map((m) => [m.key, new Set()]))
    const received = new Map<string, string[]>(members.map((m) => [m.key, []]))
    hosts.forEach((host, h) => host.on((event: HostEvent) => {
      if (event.data.group !== id) return
      const key = `${h}/${event.peer}`
      if (event.name === 'memberJoined') joinsSeen.get(key)?.add(event.data.account)
      if (event.name === 'message') received.get(key)?.push(event.data.text)
    }))

    await Promise.all(others.map(async ({ host, peer }) => await host.call('joinGroup', peer, invitation)))
    const everyoneSeen = (): number => members.filter((m) => joinsSeen.get(m.key)?.size === members.length - 1).length
    await untilAll(hosts, 'every member to see every other join', () => everyoneSeen() === members.length,
      () => `${everyoneSeen()}/${members.length} members saw all others`, 300_000)
    for (const m of members) expect(joinsSeen.get(m.key)).toEqual(new Set(members.filter((o) => o !== m).map((o) => o.account)))

    // One message from each process: each must reach the 49 others, and not come back to its sender.
    const last = members[members.length - 1] as typeof creator
    const senders = [creator, last]
    for (const sender of senders) await sender.host.call('send', sender.peer, id, `from ${sender.key}`)
    const expected = (key: string): string[] => senders.filter((s) => s.key !== key).map((s) => `from ${s.key}`).sort()
    const complete = (): number => members.filter((m) => (received.get(m.key)?.length ?? 0) >= expected(m.key).length).length
    await untilAll(hosts, 'every member to get both messages', () => complete() === members.length,
      () => `${complete()}/${members.length} members got both`, 120_000)
    for (const m of members) expect([...received.get(m.key) ?? []].sort(), m.key).toEqual(expected(m.key))
    for (const host of hosts) expect(await host.stop()).toEqual({ code: 0, signal: null })
  }, 480_000)
})
