import { describe, expect, it } from 'vitest'
import { AppMessageType } from '../src/protocol/app-messages.ts'
import { keyToId } from '../src/protocol/encoding.ts'
import type {
  ButtonPressedEvent, MemberJoinedEvent, MessageDeletedEvent, MessageEditedEvent, MessageEvent, ReactionEvent
} from '../src/protocol/index.ts'
import { HostileMember } from './helpers/hostile-member.ts'
import type { LogCapture } from './helpers/log-capture.ts'
import { formGroup, startPeer, startPeers } from './helpers/peers.ts'
import { tempDir } from './helpers/temp.ts'
import { Inbox } from './helpers/wait.ts'

const VOTE = [[{ label: 'Yes', payload: 'vote:yes' }, { label: 'No', payload: 'vote:no' }], [{ label: 'Later', payload: 'vote:later' }]]

async function dropped (log: LogCapture, reason: string, detail: RegExp): Promise<void> {
  await log.waitForLine(`a message entry dropped as ${reason}`, (l) => l.msg === 'dropped a message entry' && l.reason === reason && detail.test(String(l.detail)))
}

describe('messages beyond text', () => {
  it('carry formatting and buttons, reactions, button presses, edits and deletions between peers', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const [ga, gb] = await formGroup([alice!.peer, bob!.peer])
    const messages = new Inbox<MessageEvent>(bob!.peer, 'message')
    const reactions = new Inbox<ReactionEvent>(alice!.peer, 'reaction')
    const presses = new Inbox<ButtonPressedEvent>(alice!.peer, 'buttonPressed')
    const edits = new Inbox<MessageEditedEvent>(bob!.peer, 'messageEdited')
    const deletions = new Inbox<MessageDeletedEvent>(bob!.peer, 'messageDeleted')

    const vote = await ga!.send({ text: '**Lunch** at `noon`?', format: 'markdown', buttons: VOTE })
    const plain = await ga!.send({ text: 'a plain one' })
    await messages.until('bob to get both', (ms) => ms.some((m) => m.id === plain))
    const [first, second] = messages.items
    expect(first).toMatchObject({ id: vote, text: '**Lunch** at `noon`?', format: 'markdown', buttons: VOTE })
    expect(second).toMatchObject({ id: plain, format: 'plain', buttons: [] })

    await gb!.send({ kind: 'reaction', target: vote, emoji: '👍' })
    await gb!.send({ kind: 'reaction', target: vote, emoji: '👨‍👩‍👧‍👦' })
    await gb!.send({ kind: 'reaction', target: vote, emoji: '👍', remove: true })
    await gb!.send({ kind: 'buttonPress', target: vote, payload: 'vote:yes' })
    await reactions.count(3, 'three reactions')
    expect(reactions.items.map((r) => [r.target, r.emoji, r.removed])).toEqual([[vote, '👍', false], [vote, '👨‍👩‍👧‍👦', false], [vote, '👍', true]])
    expect(reactions.items[0]?.sender.account).toBe(bob!.peer.accountId)
    const [press] = await presses.count(1, 'the press')
    expect(press).toMatchObject({ target: vote, payload: 'vote:yes', sender: { account: bob!.peer.accountId } })
    expect(press?.group.id).toBe(ga!.id)

    // The edit replaces text, format and buttons: given none, the message has none left.
    const edit = await ga!.send({ kind: 'edit', target: vote, text: 'Lunch is at noon.' })
    const [edited] = await edits.count(1, 'the edit')
    expect(edited).toMatchObject({ id: edit, target: vote, text: 'Lunch is at noon.', format: 'plain', buttons: [], sender: { account: alice!.peer.accountId } })
    await ga!.send({ kind: 'edit', target: plain, text: '_still_ plain?', format: 'markdown', buttons: [[{ label: 'OK', payload: 'ok' }]] })
    await edits.count(2, 'the second edit')
    expect(edits.items[1]).toMatchObject({ target: plain, format: 'markdown', buttons: [[{ label: 'OK', payload: 'ok' }]] })
    await ga!.send({ kind: 'deletion', target: plain })
    const [deleted] = await deletions.count(1, 'the deletion')
    expect(deleted).toMatchObject({ target: plain, sender: { account: alice!.peer.accountId } })
    expect(alice!.log.find((l) => l.msg === 'dropped a message entry')).toEqual([])
    expect(bob!.log.find((l) => l.msg === 'dropped a message entry')).toEqual([])
  })

  it('refuses to send what receivers would drop, naming what is wrong, and sends nothing', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const [ga] = await formGroup([alice!.peer, bob!.peer])
    const reactions = new Inbox<ReactionEvent>(bob!.peer, 'reaction')
    const messages = new Inbox<MessageEvent>(bob!.peer, 'message')
    const id = await ga!.send({ text: 'react to me' })
    const row = (n: number): Array<{ label: string, payload: string }> => Array.from({ length: n }, (_, i) => ({ label: `b${i}`, payload: `p${i}` }))
    const refusals: Array<[unknown, RegExp]> = [
      [{ kind: 'reaction', target: id, emoji: '' }, /reaction cannot be empty/],
      [{ kind: 'reaction', target: id, emoji: 'thumbs up' }, /no spaces/],
      [{ kind: 'reaction', target: id, emoji: '👍'.repeat(33) }, /at most 32/],
      [{ kind: 'reaction', target: '', emoji: '👍' }, /message id cannot be empty/],
      [{ text: 'too many rows', buttons: Array.from({ length: 6 }, () => row(1)) }, /at most 5 rows/],
      [{ text: 'too wide', buttons: [row(5)] }, /at most 4 buttons/],
      [{ text: 'empty row', buttons: [[]] }, /at least one/],
      [{ text: 'long label', buttons: [[{ label: 'x'.repeat(65), payload: 'p' }]] }, /button label is at most 64/],
      [{ text: 'long payload', buttons: [[{ label: 'x', payload: 'p'.repeat(129) }]] }, /button payload is at most 128/],
      [{ text: 'a label on two lines', buttons: [[{ label: 'one\ntwo', payload: 'p' }]] }, /no control characters/],
      [{ kind: 'edit', target: id, text: 'x'.repeat(32_001) }, /the limit is 32000/],
      [{ text: 'x', format: 'html' }, /format/],
      [{ kind: 'shout', text: 'hey' }, /kind is one of/]
    ]
    for (const [message, why] of refusals) {
      await expect(ga!.send(message as never), JSON.stringify(message).slice(0, 80)).rejects.toMatchObject({ code: 'ERR_INVALID_MESSAGE', message: expect.stringMatching(why) })
    }
    await expect(ga!.seal({ kind: 'buttonPress', target: id, payload: '' })).rejects.toMatchObject({ code: 'ERR_INVALID_MESSAGE' })
    const last = await ga!.send({ text: 'after the refusals' })
    await messages.until('bob to get the last message', (ms) => ms.some((m) => m.id === last))
    expect(messages.items.map((m) => m.text)).toEqual(['react to me', 'after the refusals'])
    expect(reactions.items).toEqual([])
  })

  it('drops an edit or a deletion of a message by anyone but its author, with a logged reason, before and after a restart', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const carol = await startPeer({ displayName: 'carol', delivery: 'manual' })
    const [ga, gb] = await formGroup([alice!.peer, bob!.peer, carol.peer])
    const joins = [alice!, bob!, carol].map((p) => new Inbox<MemberJoinedEvent>(p.peer, 'memberJoined'))
    const messages = new Inbox<MessageEvent>(carol.peer, 'message')
    const edits = new Inbox<MessageEditedEvent>(carol.peer, 'messageEdited')
    const deletions = new Inbox<MessageDeletedEvent>(carol.peer, 'messageDeleted')

    const original = await ga!.send({ text: 'written by alice' })
    await messages.until('carol to get alice\'s message', (ms) => ms.some((m) => m.id === original))

    // A member on a bertybot peer sends an edit and a deletion of alice's message: its own peer lets them go, the others drop them.
    await gb!.send({ kind: 'edit', target: original, text: 'bob was here' })
    await gb!.send({ kind: 'deletion', target: original })
    for (const peer of [alice!, carol]) {
      await dropped(peer.log, 'not-the-author', /^edit of .* by .*, who did not write it/)
      await dropped(peer.log, 'not-the-author', /^deletion of .* by .*, who did not write it/)
    }

    // A hostile member crafts them by hand; and an edit of a message that does not exist.
    const mallory = await HostileMember.join(ga!.invitation(), ga!.logAddresses, alice!.peer.multiaddrs[0] as string, await tempDir('mallory'))
    try {
      await mallory.announce()
      await mallory.shareChainKey([alice!.peer.accountId, bob!.peer.accountId, carol.peer.accountId])
      const malloryId = keyToId(mallory.account.publicKey)
      await Promise.all(joins.map(async (inbox) => await inbox.until('mallory to join', (items) => items.some((e) => e.member.account === malloryId))))
      const sentAt = Date.now()
      await mallory.append(mallory.seal({ type: AppMessageType.EditMessage, target: original, text: 'mallory was here', sentAt }))
      await mallory.append(mallory.seal({ type: AppMessageType.DeleteMessage, target: original, sentAt }))
      await mallory.append(mallory.seal({ type: AppMessageType.DeleteMessage, target: 'bafyreinotamessageofthisgroupatall', sentAt }))
      const own = await mallory.append(mallory.text('mallory\'s own'))
      await mallory.append(mallory.seal({ type: AppMessageType.EditMessage, target: own, text: 'mallory\'s own, edited', sentAt }))
      await edits.until('carol to get mallory\'s edit of her own message', (es) => es.some((e) => e.target === own))
      for (const peer of [alice!, carol]) {
        await dropped(peer.log, 'not-the-author', new RegExp(`^edit of ${original} by ${malloryId}`))
        await dropped(peer.log, 'not-the-author', new RegExp(`^deletion of ${original} by ${malloryId}`))
        await dropped(peer.log, 'unknown-target', /^deletion of bafyreinotamessageofthisgroupatall/)
      }
      for (const m of messages.items) await m.markHandled()
      for (const e of edits.items) await e.markHandled()
      expect(edits.items.map((e) => e.text)).toEqual(['mallory\'s own, edited'])
      expect(deletions.items).toEqual([])

      // After a restart, who wrote alice's message is read from its status on disk.
      await carol.peer.stop()
      const again = await startPeer({ dataDir: carol.dataDir, displayName: 'carol', delivery: 'manual' })
      const editsAgain = new Inbox<MessageEditedEvent>(again.peer, 'messageEdited')
      const deletionsAgain = new Inbox<MessageDeletedEvent>(again.peer, 'messageDeleted')
      await gb!.send({ kind: 'deletion', target: original })
      await again.log.waitForLine('bob\'s deletion dropped after the restart', (l) => l.reason === 'not-the-author' && String(l.detail).startsWith(`deletion of ${original} by ${bob!.peer.accountId}`))
      await ga!.send({ kind: 'edit', target: original, text: 'alice changed her mind' })
      await ga!.send({ kind: 'deletion', target: original })
      await deletionsAgain.count(1, 'alice\'s deletion after the restart')
      expect(editsAgain.items.map((e) => [e.target, e.text])).toEqual([[original, 'alice changed her mind']])
      expect(deletionsAgain.items.map((e) => [e.target, e.sender.account, e.deletedBy])).toEqual([[original, alice!.peer.accountId, 'author']])
    } finally {
      await mallory.stop()
    }
  })

  it('are skipped by a peer that does not know their type, which logs why and goes on', async () => {
    const [alice, bob] = await startPeers(['alice', 'bob'])
    const [ga] = await formGroup([alice!.peer, bob!.peer])
    const joins = [alice!, bob!].map((p) => new Inbox<MemberJoinedEvent>(p.peer, 'memberJoined'))
    const messages = [alice!, bob!].map((p) => new Inbox<MessageEvent>(p.peer, 'message'))
    // A member on a newer version, which has a kind of message these peers do not know.
    const newer = await HostileMember.join(ga!.invitation(), ga!.logAddresses, alice!.peer.multiaddrs[0] as string, await tempDir('newer'))
    try {
      await newer.announce()
      await newer.shareChainKey([alice!.peer.accountId, bob!.peer.accountId])
      const newerId = keyToId(newer.account.publicKey)
      await Promise.all(joins.map(async (inbox) => await inbox.until('the newer member to join', (items) => items.some((e) => e.member.account === newerId))))
      await newer.append(newer.seal({ type: 150, poll: { question: 'lunch?', options: ['yes', 'no'] }, sentAt: Date.now() }))
      const after = await newer.append(newer.text('and a text after it'))
      for (const [i, peer] of [alice!, bob!].entries()) {
        await messages[i]!.until('the text after the unknown kind', (ms) => ms.some((m) => m.id === after))
        await dropped(peer.log, 'unknown-type', /^app message type 150$/)
      }
      const fromAlice = await ga!.send({ text: 'alice goes on' })
      await messages[1]!.until('bob to hear alice', (ms) => ms.some((m) => m.id === fromAlice))
    } finally {
      await newer.stop()
    }
  })
})
