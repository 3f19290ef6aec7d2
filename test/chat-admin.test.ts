/** `bertybot chat` in a group the person made, as its admin: `/delete` acts on others' messages. */
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { MemberJoinedEvent, MessageDeletedEvent, MessageEvent } from '../src/protocol/index.ts'
import { startPeer } from './helpers/peers.ts'
import { tempDir } from './helpers/temp.ts'
import { Terminal } from './helpers/terminal.ts'
import { Inbox } from './helpers/wait.ts'

const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))
/** How long a peer in another process may take to show what was sent. */
const SHOWS_MS = 60_000
const TIME = String.raw`\[\d\d:\d\d\]`

describe('bertybot chat, as a group\'s admin', () => {
  it('deletes a member\'s message with /delete and shows it (deleted by an admin), for every member', async () => {
    const term = new Terminal([process.execPath, '--conditions=bertybot-source', cli, 'chat', '--name', 'alice', '--data', await tempDir('chat-admin')])
    await term.waitFor(/Your contact link:/)
    let mark = term.text.length
    term.type('/new moderated')
    await term.waitFor(/created "moderated"/, mark)
    mark = term.text.length
    term.type('/invite')
    const [, invitation] = await term.waitFor(/invitation to "moderated":\n(\S+)\n/, mark)

    const [bob, carol] = await Promise.all(['bob', 'carol'].map(async (displayName) => await startPeer({ displayName })))
    const carolGot = new Inbox<MessageEvent>(carol!.peer, 'message')
    const carolSaw = new Inbox<MemberJoinedEvent>(carol!.peer, 'memberJoined')
    const bobSaw = new Inbox<MemberJoinedEvent>(bob!.peer, 'memberJoined')
    const deletions = new Inbox<MessageDeletedEvent>(carol!.peer, 'messageDeleted')
    const [gb] = await Promise.all([bob!, carol!].map(async (p) => await p.peer.joinGroup(invitation!)))
    await term.waitFor(/bob joined "moderated"/, mark, SHOWS_MS)
    await term.waitFor(/carol joined "moderated"/, mark, SHOWS_MS)
    // As formGroup does: bob's message carries his chain key to the members he has seen join, so
    // carol reads it only if bob has seen her join (and it reaches her once she has seen him).
    await carolSaw.until('carol to see bob join', (es) => es.some((e) => e.member.account === bob!.peer.accountId), SHOWS_MS)
    await bobSaw.until('bob to see carol join', (es) => es.some((e) => e.member.account === carol!.peer.accountId), SHOWS_MS)

    mark = term.text.length
    const spam = await gb!.send({ text: 'buy my coins' })
    const [, number] = await term.waitFor(new RegExp(String.raw`#(\d+) ${TIME} bob[^\n]*: buy my coins\n`), mark, SHOWS_MS)
    await carolGot.until('carol to get bob\'s message', (ms) => ms.some((m) => m.id === spam), SHOWS_MS)
    // An edit stays the author's.
    mark = term.text.length
    term.type(`/edit ${number!} not mine`)
    await term.waitFor(/error: only your own messages can be edited/, mark)
    mark = term.text.length
    term.type(`/delete ${number!}`)
    await term.waitFor(new RegExp(String.raw`#${number!} ${TIME} bob[^\n]*: \(deleted by an admin\)\n`), mark)
    const [deletion] = await deletions.count(1, 'the deletion at carol', SHOWS_MS)
    expect(deletion).toMatchObject({ target: spam, deletedBy: 'admin' })

    term.press('\x03')
    expect(await term.exited).toBe(0)
  }, 180_000)
})
