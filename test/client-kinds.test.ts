/**
 * The client history beyond text: reactions, edits, deletions, buttons,
 * Markdown and files, both ways between a client on a manual-delivery peer
 * (alice) and a plain peer (bob); changes that come before their message;
 * actions and files across a crash.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ChatClient, type MessageView } from '../src/client/index.ts'
import { HistoryStore } from '../src/client/history.ts'
import type {
  ButtonPressedEvent, MessageDeletedEvent, MessageEditedEvent, MessageEvent, ReactionEvent
} from '../src/protocol/index.ts'
import { startPeer, testLogger } from './helpers/peers.ts'
import { tempDir } from './helpers/temp.ts'
import { clientAndContact } from './helpers/client-pair.ts'
import { Inbox } from './helpers/wait.ts'

function views (client: ChatClient): Inbox<MessageView> {
  return new Inbox<MessageView>(client, 'message')
}

/** The newest view of message `messageId` the client told, once `predicate` holds for it. */
async function viewOf (seen: Inbox<MessageView>, messageId: string, what: string, predicate: (m: MessageView) => boolean): Promise<MessageView> {
  const items = await seen.until(what, (all) => all.some((m) => m.messageId === messageId && predicate(m)))
  return items.filter((m) => m.messageId === messageId).at(-1)!
}

/** Whether `text` is written anywhere in the files of directory `dir`. */
async function onDisk (dir: string, text: string): Promise<boolean> {
  const needle = Buffer.from(text)
  for (const name of await readdir(dir)) {
    if ((await readFile(join(dir, name))).includes(needle)) return true
  }
  return false
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

async function collect (bytes: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = []
  for await (const chunk of bytes) chunks.push(chunk)
  return Buffer.concat(chunks)
}

describe('the client history, beyond text', () => {
  it('keeps what others do: Markdown, buttons, a file with its preview, reactions and their removal, an edit, a deletion whose text leaves the disk', async () => {
    const { alice, client, conversation, bobGroup, bob } = await clientAndContact()
    const seen = views(client)
    const mine = await client.send(conversation, 'hello bob')
    const mineSent = (await seen.until('alice\'s message to be sent', (all) => all.some((m) => m.seq === mine.seq && m.messageId !== undefined))).find((m) => m.seq === mine.seq && m.messageId !== undefined)!

    const rich = await bobGroup.send({ text: '**Lunch** at noon?', format: 'markdown', buttons: [[{ label: 'Yes', payload: 'lunch:yes' }, { label: 'No', payload: 'lunch:no' }]] })
    const preview = randomBytes(200)
    const photo = randomBytes(150_000)
    const withFile = await bobGroup.sendFile(photo, { name: 'photo.png', type: 'image/png', preview, text: 'a photo' })
    const secret = `secret-${randomBytes(24).toString('base64url')}`
    const doomed = await bobGroup.send({ text: secret })
    await viewOf(seen, doomed, 'the doomed message', () => true)
    const historyDir = join(alice.dataDir, 'client-history')
    expect(await onDisk(historyDir, secret)).toBe(true)

    await bobGroup.send({ kind: 'reaction', target: mineSent.messageId!, emoji: '👍' })
    await bobGroup.send({ kind: 'reaction', target: mineSent.messageId!, emoji: '❤️' })
    await bobGroup.send({ kind: 'reaction', target: mineSent.messageId!, emoji: '❤️', remove: true })
    await bobGroup.send({ kind: 'edit', target: rich, text: 'Lunch at _one_ instead?', format: 'markdown', buttons: [[{ label: 'Fine', payload: 'lunch:fine' }]] })
    await bobGroup.send({ kind: 'deletion', target: doomed })
    // Each is marked handled once written: the next message comes after all of them.
    await bobGroup.send({ text: 'done' })
    await seen.until('bob\'s last message', (all) => all.some((m) => m.text === 'done'))

    const page = await client.history(conversation)
    const byId = new Map(page.messages.map((m) => [m.messageId, m]))
    expect(byId.get(mineSent.messageId)?.reactions).toEqual([{ emoji: '👍', count: 1, own: false, names: ['bob'] }])
    expect(byId.get(rich)).toMatchObject({ text: 'Lunch at _one_ instead?', format: 'markdown', edited: true, deleted: false, buttons: [[{ label: 'Fine', payload: 'lunch:fine' }]] })
    expect(byId.get(withFile)).toMatchObject({ text: 'a photo', files: [{ index: 0, name: 'photo.png', type: 'image/png', size: photo.length, preview: true }] })
    expect(byId.get(doomed)).toMatchObject({ text: '', deleted: true, reactions: [], files: [] })
    expect(await onDisk(historyDir, secret)).toBe(false)

    // The file is read whole from bob, its preview as he gave it.
    const seq = byId.get(withFile)!.seq
    expect(await client.filePreview(conversation, seq, 0)).toEqual({ type: 'image/png', bytes: new Uint8Array(preview) })
    const file = await client.readFile(conversation, seq, 0, { signal: AbortSignal.timeout(30_000) })
    expect(file).toMatchObject({ name: 'photo.png', type: 'image/png', size: photo.length })
    expect(sha256(await collect(file.bytes))).toBe(sha256(photo))
    await expect(client.readFile(conversation, seq, 1)).rejects.toMatchObject({ code: 'ERR_NO_FILE' })

    // Every change was marked handled: a restart delivers none of them again.
    await client.close()
    await alice.peer.stop()
    const again = await startPeer({ displayName: 'alice', delivery: 'manual', dataDir: alice.dataDir, listen: ['/ip4/127.0.0.3/tcp/0'], bootstrap: bob.peer.multiaddrs.filter((a) => !a.includes('/ws')) })
    const redelivered: string[] = []
    for (const name of ['reaction', 'messageEdited', 'messageDeleted', 'buttonPressed'] as const) again.peer.on(name, () => { redelivered.push(name) })
    const messages = new Inbox<MessageEvent>(again.peer, 'message')
    await bob.peer.group(conversation)!.send({ text: 'after the restart' })
    await messages.until('the message after the restart', (all) => all.some((m) => m.text === 'after the restart'), 60_000)
    expect(messages.items.map((m) => m.text)).toEqual(['after the restart'])
    expect(redelivered).toEqual([])
  }, 120_000)

  it('sends what the person does: a reaction and its removal, an edit and a deletion of their own, a press; refuses what cannot be done', async () => {
    const { client, conversation, bobGroup, bob } = await clientAndContact()
    const seen = views(client)
    const at = {
      reaction: new Inbox<ReactionEvent>(bob.peer, 'reaction'),
      edit: new Inbox<MessageEditedEvent>(bob.peer, 'messageEdited'),
      deletion: new Inbox<MessageDeletedEvent>(bob.peer, 'messageDeleted'),
      press: new Inbox<ButtonPressedEvent>(bob.peer, 'buttonPressed'),
      message: new Inbox<MessageEvent>(bob.peer, 'message')
    }
    const question = await bobGroup.send({ text: 'Lunch?', buttons: [[{ label: 'Yes', payload: 'lunch:yes' }]] })
    const shown = await viewOf(seen, question, 'bob\'s question', () => true)

    const reacted = await client.react(conversation, shown.seq, '🎉')
    expect(reacted.reactions).toEqual([{ emoji: '🎉', count: 1, own: true, names: ['You'] }])
    expect((await client.react(conversation, shown.seq, '🎉', { remove: true })).reactions).toEqual([])
    const pressed = await client.press(conversation, shown.seq, 'lunch:yes')
    expect(pressed.pressed).toEqual(['lunch:yes'])
    await expect(client.press(conversation, shown.seq, 'lunch:never')).rejects.toMatchObject({ code: 'ERR_NO_BUTTON' })
    await expect(client.edit(conversation, shown.seq, 'not mine')).rejects.toMatchObject({ code: 'ERR_NOT_YOURS' })
    await expect(client.delete(conversation, shown.seq)).rejects.toMatchObject({ code: 'ERR_NOT_YOURS' })
    await expect(client.react(conversation, shown.seq, 'two words')).rejects.toMatchObject({ code: 'ERR_INVALID_MESSAGE' })
    await expect(client.react(conversation, 999, '👍')).rejects.toMatchObject({ code: 'ERR_NO_MESSAGE' })

    const typo = await client.send(conversation, 'lunhc at noon')
    const sent = await seen.until('the typo to be sent', (all) => all.some((m) => m.seq === typo.seq && m.messageId !== undefined))
    const typoId = sent.find((m) => m.seq === typo.seq && m.messageId !== undefined)!.messageId!
    expect(await client.edit(conversation, typo.seq, 'lunch at noon')).toMatchObject({ text: 'lunch at noon', edited: true })
    const gone = await client.send(conversation, 'never mind')
    await seen.until('the second message to be sent', (all) => all.some((m) => m.seq === gone.seq && m.messageId !== undefined))
    expect(await client.delete(conversation, gone.seq)).toMatchObject({ text: '', deleted: true })
    await expect(client.edit(conversation, gone.seq, 'back')).rejects.toMatchObject({ code: 'ERR_MESSAGE_DELETED' })

    const [added, removed] = await at.reaction.count(2, 'both reactions at bob')
    expect([added!.emoji, added!.removed, removed!.emoji, removed!.removed, added!.target]).toEqual(['🎉', false, '🎉', true, question])
    const [press] = await at.press.count(1, 'the press at bob')
    expect(press).toMatchObject({ target: question, payload: 'lunch:yes', sender: { account: client.self.account } })
    const [edit] = await at.edit.count(1, 'the edit at bob')
    expect(edit).toMatchObject({ target: typoId, text: 'lunch at noon', format: 'plain' })
    const [deletion] = await at.deletion.count(1, 'the deletion at bob')
    expect(at.message.items.find((m) => m.id === deletion!.target)?.text).toBe('never mind')
    await client.close()
  }, 120_000)

  it('sends a file bob receives whole, and refuses one larger than the peer takes', async () => {
    const { client, conversation, bob } = await clientAndContact({ maxFileSize: 512 * 1024 })
    const seen = views(client)
    const bobInbox = new Inbox<MessageEvent>(bob.peer, 'message')
    const bytes = randomBytes(300_000)
    const preview = randomBytes(100)
    const view = await client.sendFile(conversation, bytes, { name: 'report.bin', type: 'image/png', size: bytes.length, preview, text: 'the report' })
    expect(view).toMatchObject({ text: 'the report', state: 'sending', files: [{ name: 'report.bin', size: bytes.length, preview: true }] })
    await seen.until('the file message to be sent', (all) => all.some((m) => m.seq === view.seq && m.state !== 'sending'))
    const [arrived] = await bobInbox.count(1, 'the file at bob')
    expect(arrived!.text).toBe('the report')
    expect(arrived!.files.map((f) => [f.name, f.size, Buffer.from(f.preview ?? []).equals(preview)])).toEqual([['report.bin', bytes.length, true]])
    expect(sha256(await collect(arrived!.files[0]!.read({ signal: AbortSignal.timeout(30_000) })))).toBe(sha256(bytes))

    await expect(client.sendFile(conversation, randomBytes(600 * 1024), { name: 'big.bin', type: 'application/octet-stream' })).rejects.toMatchObject({ name: 'FileTooLargeError' })
    await expect(client.sendFile(conversation, randomBytes(10), { name: 'said.bin', type: 'application/octet-stream', size: 600 * 1024 })).rejects.toMatchObject({ code: 'ERR_FILE_TOO_LARGE' })
    expect((await client.history(conversation)).messages).toHaveLength(1)
    await client.close()
  }, 120_000)

  it('sends at the next start an action recorded before a crash, and fails a file message whose file was not kept', async () => {
    const dir = await tempDir('client')
    const { alice, client, conversation, bobGroup, bob } = await clientAndContact({ dataDir: dir })
    const seen = views(client)
    const question = await bobGroup.send({ text: 'still there?' })
    const shown = await viewOf(seen, question, 'bob\'s question', () => true)
    await client.close()
    await alice.peer.stop()

    // As a crash right after the person reacted leaves it: applied and recorded, not sent; and a file message still marked staging.
    const history = await HistoryStore.open(join(dir, 'client-history'), testLogger)
    await history.applyTo(conversation, question, { kind: 'reaction', account: alice.peer.accountId, name: 'alice', emoji: '👋', removed: false }, { kind: 'reaction', target: question, emoji: '👋' })
    const staged = await history.append(conversation, {
      sender: { account: alice.peer.accountId, name: 'alice', own: true }, text: '', sentAt: Date.now(), state: 'sending', staging: true,
      files: [{ root: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', key: Buffer.alloc(32).toString('base64'), size: 10, type: 'text/plain', name: 'lost.txt' }]
    })
    await history.close()

    const reactions = new Inbox<ReactionEvent>(bob.peer, 'reaction')
    const messages = new Inbox<MessageEvent>(bob.peer, 'message')
    const again = await startPeer({ displayName: 'alice', delivery: 'manual', dataDir: dir, listen: ['/ip4/127.0.0.3/tcp/0'], bootstrap: bob.peer.multiaddrs.filter((a) => !a.includes('/ws')) })
    const reopened = await ChatClient.open({ peer: again.peer, dataDir: dir, logger: testLogger })
    const [reaction] = await reactions.count(1, 'the reaction at bob', 60_000)
    expect(reaction).toMatchObject({ target: question, emoji: '👋', removed: false })
    const page = await reopened.history(conversation)
    expect(page.messages.find((m) => m.seq === shown.seq)?.reactions).toEqual([{ emoji: '👋', count: 1, own: true, names: ['You'] }])
    expect(page.messages.find((m) => m.seq === staged.seq)?.state).toBe('failed')
    // Sent once: a second start sends it no more.
    await reopened.send(conversation, 'a marker')
    await messages.until('the marker at bob', (all) => all.some((m) => m.text === 'a marker'), 60_000)
    expect(reactions.items).toHaveLength(1)
    expect(messages.items.map((m) => m.text)).toEqual(['a marker'])
    await reopened.close()
  }, 120_000)
})

describe('changes that come before their message', () => {
  it('keep on disk, across a restart, until the message comes, and then apply in the order they came', async () => {
    const dir = join(await tempDir('history'), 'client-history')
    let history = await HistoryStore.open(dir, testLogger)
    const target = 'bafyreih-target'
    expect((await history.applyTo('c1', target, { kind: 'reaction', account: 'bob', name: 'bob', emoji: '👍', removed: false })).outcome).toBe('waiting')
    expect((await history.applyTo('c1', target, { kind: 'edit', text: 'second version', at: 20 })).outcome).toBe('waiting')
    expect((await history.applyTo('c1', target, { kind: 'reaction', account: 'carol', name: 'carol', emoji: '👍', removed: false })).outcome).toBe('waiting')
    expect((await history.applyTo('c1', target, { kind: 'reaction', account: 'carol', name: 'carol', emoji: '👍', removed: true })).outcome).toBe('waiting')
    // Another conversation's message of the same id is another message.
    await history.append('c2', { messageId: target, sender: { account: 'bob', name: 'bob', own: false }, text: 'elsewhere', sentAt: 1 })
    await history.close()

    history = await HistoryStore.open(dir, testLogger)
    const stored = await history.append('c1', { messageId: target, sender: { account: 'bob', name: 'bob', own: false }, text: 'first version', sentAt: 10 })
    expect(stored).toMatchObject({ text: 'second version', editedAt: 20, reactions: [{ account: 'bob', name: 'bob', emoji: '👍' }] })
    expect((await history.byMessageId('c2', target))?.text).toBe('elsewhere')
    // Applied once: a message appended again under the same id finds nothing waiting.
    const twice = await history.append('c1', { messageId: target, sender: { account: 'bob', name: 'bob', own: false }, text: 'first version', sentAt: 10 })
    expect(twice.reactions).toBeUndefined()
    await history.close()
  })

  it('apply to our own message once it has its id, as a reaction that overtook our send would', async () => {
    const history = await HistoryStore.open(join(await tempDir('history'), 'client-history'), testLogger)
    const ours = await history.append('c1', { sender: { account: 'alice', name: 'alice', own: true }, text: 'mine', sentAt: 1, state: 'sending' })
    expect((await history.applyTo('c1', 'bafyreih-ours', { kind: 'reaction', account: 'bob', name: 'bob', emoji: '😂', removed: false })).outcome).toBe('waiting')
    const sent = await history.update('c1', ours.seq, { messageId: 'bafyreih-ours', state: 'pending' })
    expect(sent?.reactions).toEqual([{ account: 'bob', name: 'bob', emoji: '😂' }])
    // A deletion that waited takes the text with it.
    expect((await history.applyTo('c1', 'bafyreih-later', { kind: 'deletion', at: 5 })).outcome).toBe('waiting')
    expect(await history.append('c1', { messageId: 'bafyreih-later', sender: { account: 'bob', name: 'bob', own: false }, text: 'regret', sentAt: 2 })).toMatchObject({ text: '', deletedAt: 5 })
    await history.close()
  })
})
