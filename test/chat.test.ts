import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
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
    // The QR code takes more than a 24-line screen: only on request.
    expect(term.text).not.toMatch(/[▀▄█]/)

    let mark = term.text.length
    term.type('/frobnicate')
    await term.waitFor(/unknown command \/frobnicate, and no conversation open/, mark)

    mark = term.text.length
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
    const typed = (await bobInbox.until('bob to get the typed line', (ms) => ms.some((m) => m.text === 'hi bob, typed by a person')))
      .find((m) => m.text === 'hi bob, typed by a person')
    const bobsMessage = await group.send({ text: 'hello alice, from a peer', replyTo: typed!.id })
    await term.waitFor(/#1 \[\d\d:\d\d\] bob \(re your "hi bob, typed by a person"\): hello alice, from a peer/, mark)

    // A /command the client does not have goes to the conversation (a bot's), and //x sends /x.
    term.type('/roll 6')
    term.type('//help')
    await bobInbox.until('bob to get the commands', (ms) => ms.some((m) => m.text === '/roll 6') && ms.some((m) => m.text === '/help'))

    mark = term.text.length
    term.type('/reply 1 yes, this one')
    const reply = (await bobInbox.until('bob to get the reply', (ms) => ms.some((m) => m.text === 'yes, this one'))).find((m) => m.text === 'yes, this one')
    expect(reply!.replyTo).toBe(bobsMessage)
    term.type('/reply 9 nothing to answer')
    await term.waitFor(/no message #9/, mark)

    mark = term.text.length
    term.type('/link --qr')
    await term.waitFor(/[▀▄█]{8}[^]*Your contact link:/, mark)

    mark = term.text.length
    term.type('/add bertybot://contact/garbage')
    await term.waitFor(/error: .*contact link/, mark)

    term.press('\x03')
    expect(await term.exited).toBe(0)
    // What the person saw, to look at: BERTYBOT_SCREENSHOTS=<dir> keeps it.
    if (process.env.BERTYBOT_SCREENSHOTS !== undefined) await writeFile(join(process.env.BERTYBOT_SCREENSHOTS, 'chat.txt'), term.text)
  })

  it('marks a message pending while the contact is away and again once delivered; /history shows the conversation after a restart', async () => {
    const bob = await startPeer({ displayName: 'bob' })
    const requests = new Inbox<ContactRequestEvent>(bob.peer, 'contactRequest')
    const dataDir = await tempDir('chat')
    let term = new Terminal([process.execPath, '--conditions=bertybot-source', cli, 'chat', '--name', 'alice', '--data', dataDir])
    await term.waitFor(/Your contact link:/)
    term.type(`/add ${bob.peer.contactLink()}`)
    const [request] = await requests.count(1, 'the request at bob')
    const group = await request!.accept()
    await term.waitFor(/bob is now your contact/)
    await group.send({ text: 'one, from bob' })
    await term.waitFor(/#1 \[\d\d:\d\d\] bob: one, from bob/)

    await bob.peer.stop()
    let mark = term.text.length
    term.type('two, while bob is away')
    await term.waitFor(/\(pending: nobody in bob is reachable; "two, while bob is away" goes out when someone is\)/, mark)
    // Bob comes back on the ports it kept: alice's peer finds it again and hands the message over.
    const back = await startPeer({ displayName: 'bob', dataDir: bob.dataDir })
    const backInbox = new Inbox<MessageEvent>(back.peer, 'message')
    await term.waitFor(/\(delivered in bob: "two, while bob is away"\)/, mark, 60_000)
    await backInbox.until('bob to get it', (ms) => ms.some((m) => m.text === 'two, while bob is away'))

    term.type('/quit')
    expect(await term.exited).toBe(0)
    term = new Terminal([process.execPath, '--conditions=bertybot-source', cli, 'chat', '--data', dataDir])
    await term.waitFor(/Your contact link:/)
    mark = term.text.length
    term.type('/open bob')
    term.type('/history')
    // Ours are numbered too when shown, so that /edit and /delete can name them.
    await term.waitFor(/2 message\(s\) in bob:\n#1 \[\d\d:\d\d\] bob: one, from bob\n#2 \[\d\d:\d\d\] you: two, while bob is away\n/, mark)
    term.type('/history x')
    await term.waitFor(/usage: \/history \[n\]/, mark)
    term.press('\x04')
    expect(await term.exited).toBe(0)
  }, 120_000)
})
