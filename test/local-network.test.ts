/**
 * Peers on a local network and nothing else: two Linux network namespaces
 * joined by a veth pair (helpers/netns.ts), with no route out, no bootstrap
 * peer and contact links stripped of their addresses. Each peer runs in its
 * own process inside its own namespace. With mDNS on, a peer
 * (`createPeer({ mdns: true })`) and the echo bot (`BERTYBOT_MDNS=on`) find
 * each other, become contacts and talk, and `bertybot replica --mdns` is
 * found too; with mDNS off, the same two find nothing. A host that answers
 * mDNS with an address outside the private ranges is not dialed there.
 *
 * Without root and `ip` the file is skipped with a loud warning; with
 * BERTYBOT_REQUIRE_NETNS=1 (CI) that is a failure.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { encodeContactLink } from '../src/protocol/contact-link.ts'
import { decodeContactLink, keyToId } from '../src/protocol/index.ts'
import { loadOrCreateIdentity } from '../src/protocol/keystore.ts'
import { BotProcess, cleanUp } from './helpers/bot-process.ts'
import { createLan, describeWithNetns, type Lan, type LanHost } from './helpers/netns.ts'
import { PeerProcess } from './helpers/peer-process.ts'
import { testLogger } from './helpers/peers.ts'
import { tempDir } from './helpers/temp.ts'
import { waitFor } from './helpers/wait.ts'

const ECHO_BOT = fileURLToPath(new URL('../bots/echo/index.ts', import.meta.url))
const RESPONDER = fileURLToPath(new URL('./fixtures/mdns-responder.ts', import.meta.url))
const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))
/** Every interface of the namespace: its loopback and its end of the veth. */
const ANY = '/ip4/0.0.0.0/tcp/0'
/** How long anything that crosses the network may take, starting processes on a loaded machine included. */
const MEETS_MS = 90_000
/**
 * How long the control waits for nothing to happen: two of mDNS's 10 s
 * rounds of questions, where with mDNS on the two met within the first
 * (the first question goes out as a peer starts).
 */
const NOTHING_WITHIN_MS = 20_000

const peers: PeerProcess[] = []

async function startPeer (host: LanHost, mdns: boolean, dataDir?: string): Promise<PeerProcess> {
  const peer = await PeerProcess.start({ dataDir: dataDir ?? await tempDir('lan'), displayName: 'alice', listen: [ANY], mdns, netns: host.netns })
  peers.push(peer)
  return peer
}

/** The echo bot in `host`'s namespace, as in production, configured by its environment; with its link and data directory. */
async function startEchoBot (host: LanHost, mdns: 'on' | 'off', listen = ANY): Promise<{ bot: BotProcess, link: string, dataDir: string }> {
  const cwd = await tempDir('lan-bot')
  const dataDir = join(cwd, 'data')
  const bot = new BotProcess({ cwd, env: { BERTYBOT_DATA: dataDir, BERTYBOT_LISTEN: listen, BERTYBOT_MDNS: mdns }, entry: ECHO_BOT, netns: host.netns })
  return { bot, link: await bot.link(), dataDir }
}

/** The same link with no addresses, signed again with its account's key (read from its data directory): only the rendezvous can lead to its owner. */
async function withoutAddresses (link: string, dataDir: string): Promise<string> {
  const { seed, displayName } = decodeContactLink(link)
  const { account } = await loadOrCreateIdentity(dataDir, testLogger)
  return encodeContactLink(account, seed, displayName, [])
}

/** The peer id a link's addresses name. */
function peerIdOf (link: string): string {
  const id = decodeContactLink(link).hints[0]?.split('/p2p/')[1]
  if (id === undefined) throw new Error('the link names no address')
  return id
}

async function contactAccepted (peer: PeerProcess, timeoutMs: number): Promise<{ group: string, account: string }> {
  return await waitFor('the contact to be accepted', (done) => {
    peer.on('contactAccepted', done)
    return () => { peer.off('contactAccepted', done) }
  }, timeoutMs)
}

/** Waits until `peer` holds a connection to `peerId`: a peer emits no event for it, so it is asked every 250 ms. */
async function connectedTo (peer: PeerProcess, peerId: string, timeoutMs: number): Promise<void> {
  await waitFor(`a connection to ${peerId}`, (done) => {
    const timer = setInterval(() => {
      peer.call<string[]>('connectedPeers').then((ids) => { if (ids.includes(peerId)) done(undefined) }, () => {})
    }, 250)
    return () => { clearInterval(timer) }
  }, timeoutMs)
}

describeWithNetns('peers on a local network with no other way to meet', () => {
  let lan: Lan

  beforeAll(async () => { lan = await createLan() })

  afterEach(async ({ task }) => {
    // The namespaces stay for the next test; what ran in them does not.
    await Promise.all(peers.splice(0).map(async (peer) => {
      peer.child.kill('SIGKILL')
      await peer.exited
    }))
    await cleanUp(task.result?.state === 'fail')
  })

  afterAll(async () => { await lan?.remove() })

  it('find each other by mDNS, become contacts and exchange messages', async () => {
    const [aliceHost, botHost] = lan.hosts
    const { link, dataDir } = await startEchoBot(botHost, 'on')
    expect(decodeContactLink(link).hints.some((hint) => hint.startsWith(`/ip4/${botHost.address}/`))).toBe(true)
    const stripped = await withoutAddresses(link, dataDir)
    expect(decodeContactLink(stripped).hints).toEqual([])

    const aliceData = await tempDir('lan')
    const alice = await startPeer(aliceHost, true, aliceData)
    expect(alice.multiaddrs.some((address) => address.startsWith(`/ip4/${aliceHost.address}/`))).toBe(true)
    const accepted = contactAccepted(alice, MEETS_MS)
    accepted.catch(() => {})
    await alice.call('addContact', stripped)
    const { group, account } = await accepted
    expect(account).toBe(keyToId(decodeContactLink(link).accountKey))
    expect(await alice.call<string[]>('connectedPeers')).toContain(peerIdOf(link))

    await alice.call('send', group, 'hello over the LAN')
    const echoes = async (peer: PeerProcess, text: string): Promise<void> => {
      const replies = await peer.messagesUntil(`the echo of "${text}"`, (messages) => messages.some((m) => m.sender.account === account && m.text === text), MEETS_MS)
      expect(replies.find((m) => m.text === text)?.group).toBe(group)
    }
    await echoes(alice, 'hello over the LAN')

    // Remembered like any peer: back with mDNS off, alice's conversation still reaches the bot.
    await alice.stop()
    const again = await startPeer(aliceHost, false, aliceData)
    await again.call('send', group, 'and again, without mDNS')
    await echoes(again, 'and again, without mDNS')
  }, 5 * MEETS_MS)

  it('dials only the private and loopback addresses an mDNS answer names', async () => {
    const [aliceHost, responderHost] = lan.hosts
    // Outside the private ranges, and reachable from alice: it exists only inside the two namespaces.
    const outside = '11.77.0.2'
    await lan.addAddress(1, outside)
    const responder = new BotProcess({ cwd: await tempDir('lan-responder'), env: {}, entry: RESPONDER, args: [responderHost.address, outside], netns: responderHost.netns })
    await responder.until('the responder to answer', () => responder.stdout.includes('answering\n') ? true : undefined, MEETS_MS)
    const connections = (ip: string): number => responder.stdout.split('\n').filter((line) => line === `connection ${ip}`).length

    await startPeer(aliceHost, true)
    // Two dials, at two of alice's rounds of questions: each fails at once, and the dialer goes through every address it takes.
    await responder.until('alice to dial the private address twice', () => connections(responderHost.address) >= 2 ? true : undefined, MEETS_MS)
    expect(connections(outside)).toBe(0)
  }, 3 * MEETS_MS)

  it('warn that a peer listening on loopback only cannot be reached from elsewhere', async () => {
    const { bot } = await startEchoBot(lan.hosts[1], 'on', '/ip4/127.0.0.1/tcp/0')
    await bot.until('the warning', () => /mDNS is on, but this peer listens on loopback only/.test(bot.stderr) ? true : undefined, MEETS_MS)
  }, 2 * MEETS_MS)

  it('find a replica started with bertybot replica --mdns', async () => {
    const [aliceHost, replicaHost] = lan.hosts
    const replica = new BotProcess({
      cwd: await tempDir('lan-replica'),
      env: {},
      entry: CLI,
      args: ['replica', '--mdns', '--data', await tempDir('lan-replica-data'), '--listen', ANY],
      netns: replicaHost.netns
    })
    const replicaId = await replica.until('the replica to start', () => /^replica (\S+),/m.exec(replica.stdout)?.[1], MEETS_MS)
    const alice = await startPeer(aliceHost, true)
    await connectedTo(alice, replicaId, MEETS_MS)
  }, 3 * MEETS_MS)

  it('find nothing with mDNS off', async () => {
    const [aliceHost, botHost] = lan.hosts
    const { bot, link, dataDir } = await startEchoBot(botHost, 'off')
    const alice = await startPeer(aliceHost, false)
    const contact = await alice.call<{ requestDelivered: boolean }>('addContact', await withoutAddresses(link, dataDir))
    expect(contact.requestDelivered).toBe(false)
    await expect(contactAccepted(alice, NOTHING_WITHIN_MS)).rejects.toThrow(/timed out/)
    expect(await alice.call('connectedPeers')).toEqual([])
    expect(await alice.call('contact', keyToId(decodeContactLink(link).accountKey))).toMatchObject({ state: 'outgoing', requestDelivered: false })
    expect(bot.stderr).not.toMatch(/accepted a contact/)
  }, 2 * MEETS_MS + NOTHING_WITHIN_MS)
})
