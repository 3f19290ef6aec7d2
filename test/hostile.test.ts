import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Entry } from '@orbitdb/core'
import { describe, expect, it } from 'vitest'
import { generateSigningKeyPair, randomBytes } from '../src/protocol/crypto.ts'
import { keyToId } from '../src/protocol/encoding.ts'
import type { MemberJoinedEvent, MessageEvent } from '../src/protocol/index.ts'
import { HostileMember } from './helpers/hostile-member.ts'
import type { LogCapture } from './helpers/log-capture.ts'
import { formGroup, startPeers } from './helpers/peers.ts'
import { tempDir } from './helpers/temp.ts'
import { Inbox, waitFor } from './helpers/wait.ts'

const hostileScript = fileURLToPath(new URL('./fixtures/hostile-orbitdb.ts', import.meta.url))

async function rejected (log: LogCapture, hash: string): Promise<void> {
  await log.waitForLine(`rejection of entry ${hash}`, (l) => l.msg === 'rejected a log entry' && l.entry === hash)
}

async function dropped (log: LogCapture, reason: string): Promise<void> {
  await log.waitForLine(`a message entry dropped as ${reason}`, (l) => l.msg === 'dropped a message entry' && l.reason === reason)
}

describe('entries that must not get in', () => {
  it('are rejected by every member when written by a peer without the group key, even one whose access controller lets everything in', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const [ga, gb] = await formGroup([alice!.peer, bob!.peer])
    const inboxes = [alice!, bob!].map((p) => new Inbox<MessageEvent>(p.peer, 'message'))

    // A separate process: access controllers are registered per process, and ours is registered here.
    const hostile = fork(hostileScript, [JSON.stringify({
      dir: await tempDir('hostile'),
      dial: [alice!.peer.multiaddrs[0], bob!.peer.multiaddrs[0]],
      address: ga!.logAddresses.messages,
      count: 3
    })], { execArgv: ['--conditions=bertybot-source'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const exited = new Promise((resolve) => hostile.on('exit', resolve))
    try {
      const { hashes } = await waitFor<{ hashes: string[] }>('the hostile peer to append', (done) => {
        hostile.on('message', done as never)
        return () => hostile.off('message', done as never)
      }, 60_000)
      await Promise.all([alice!, bob!].flatMap((member) => hashes.map(async (hash) => await rejected(member.log, hash))))

      // The peers go on: a real message still flows, and nothing forged was delivered.
      await ga!.send({ text: 'after the attack' })
      await gb!.send({ text: 'still here' })
      await inboxes[1]!.until('bob to hear alice', (ms) => ms.some((m) => m.text === 'after the attack'))
      await inboxes[0]!.until('alice to hear bob', (ms) => ms.some((m) => m.text === 'still here'))
      for (const inbox of inboxes) expect(inbox.items.every((m) => !m.text.startsWith('forged'))).toBe(true)
    } finally {
      hostile.send('stop')
      await exited
    }
  })

  it('are dropped with a logged reason when a member crafts them, and the peers go on', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const [ga, gb] = await formGroup([alice!.peer, bob!.peer])
    const joins = [alice!, bob!].map((p) => new Inbox<MemberJoinedEvent>(p.peer, 'memberJoined'))
    const inboxes = [alice!, bob!].map((p) => new Inbox<MessageEvent>(p.peer, 'message'))

    const mallory = await HostileMember.join(ga!.invitation(), ga!.logAddresses, alice!.peer.multiaddrs[0] as string, await tempDir('mallory'))
    try {
      await mallory.announce()
      await mallory.shareChainKey([alice!.peer.accountId, bob!.peer.accountId])
      const malloryId = keyToId(mallory.account.publicKey)
      await Promise.all(joins.map(async (inbox) => await inbox.until('mallory to join', (items) => items.some((e) => e.member.account === malloryId))))

      await mallory.append(HostileMember.garbage())
      const cut = mallory.text('cut short')
      await mallory.append(cut.subarray(0, Math.floor(cut.length / 2)))
      await mallory.append(mallory.text('under another secret', { secret: randomBytes(32) }))
      await mallory.append(mallory.text('signed by someone else', { signer: generateSigningKeyPair() }))
      await mallory.append(mallory.seal({ type: 99, sentAt: Date.now() }))
      await mallory.append(mallory.text('first', { reuseCounter: true }))
      await mallory.append(mallory.text('same counter again'))
      const last = await mallory.append(mallory.text('valid at last'))

      for (const [i, peer] of [alice!, bob!].entries()) {
        await inboxes[i]!.until(`${i}: mallory's valid message`, (ms) => ms.some((m) => m.id === last))
        expect(inboxes[i]!.items.filter((m) => m.sender.account === malloryId).map((m) => m.text)).toEqual(['first', 'valid at last'])
        for (const reason of ['malformed', 'wrong-key', 'bad-signature', 'unknown-type', 'replayed-counter']) await dropped(peer.log, reason)
        expect(peer.log.find((l) => l.msg === 'dropped a message entry' && l.reason === 'malformed')).toHaveLength(2)
      }

      // An entry whose OrbitDB signature does not match its content never gets into the log.
      const valid = await mallory.messages.log.get(last)
      const { hash: _hash, ...rest } = valid!
      const forged = await Entry.encode({ ...rest, payload: { ...(rest.payload as object), value: randomBytes(40) } })
      await mallory.node.libp2p.services.pubsub.publish(ga!.logAddresses.messages, forged.bytes)
      await rejected(alice!.log, forged.hash)

      await ga!.send({ text: 'alice goes on' })
      await gb!.send({ text: 'bob goes on' })
      await inboxes[1]!.until('bob to hear alice', (ms) => ms.some((m) => m.text === 'alice goes on'))
      await inboxes[0]!.until('alice to hear bob', (ms) => ms.some((m) => m.text === 'bob goes on'))
    } finally {
      await mallory.stop()
    }
  })
})
