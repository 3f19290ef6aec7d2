import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { ContactRequestEvent, MessageEvent } from '../src/protocol/index.ts'
import { startPeer } from './helpers/peers.ts'
import { tempDir } from './helpers/temp.ts'
import { Terminal } from './helpers/terminal.ts'
import { Inbox } from './helpers/wait.ts'

const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))

describe('bertybot chat, in a terminal', () => {
  it('adds a contact and exchanges messages with a second peer, then leaves on Ctrl-C', async () => {
    const bob = await startPeer({ displayName: 'bob' })
    const requests = new Inbox<ContactRequestEvent>(bob.peer, 'contactRequest')
    const bobInbox = new Inbox<MessageEvent>(bob.peer, 'message')

    const term = new Terminal([process.execPath, '--conditions=bertybot-source', cli, 'chat', '--name', 'alice', '--data', await tempDir('chat')])
    const [, aliceLink] = await term.waitFor(/Your contact link:\n(bertybot:\/\/contact\/\S+)/)
    expect(aliceLink).toBeDefined()

    let mark = term.text.length
    term.type(`/add ${bob.peer.contactLink()} hello from the terminal`)
    await term.waitFor(/request sent to bob/, mark)
    const [request] = await requests.count(1, 'the request at bob')
    expect(request).toMatchObject({ displayName: 'alice', message: 'hello from the terminal' })
    const group = await request!.accept()
    await term.waitFor(/bob is now your contact/, mark)

    mark = term.text.length
    term.type('/open bob')
    await term.waitFor(/now talking in bob/, mark)
    term.type('hi bob, typed by a person')
    await bobInbox.until('bob to get the typed line', (ms) => ms.some((m) => m.text === 'hi bob, typed by a person'))
    await group.send({ text: 'hello alice, from a peer' })
    await term.waitFor(/\] bob: hello alice, from a peer/, mark)

    mark = term.text.length
    term.type('/frobnicate')
    await term.waitFor(/unknown command \/frobnicate/, mark)
    term.type('/add bertybot://contact/garbage')
    await term.waitFor(/error: .*contact link/, mark)

    term.press('\x03')
    expect(await term.exited).toBe(0)
  })
})
