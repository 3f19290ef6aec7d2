import { createHash, randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import type { ContactAcceptedEvent, ContactRequestEvent, MemberJoinedEvent, MessageEvent } from '../src/protocol/index.ts'
import { BotProcess, cleanUp } from './helpers/bot-process.ts'
import { screenshotsDir } from './helpers/browser.ts'
import { startPeer } from './helpers/peers.ts'
import { chart } from './helpers/png.ts'
import { tempDir } from './helpers/temp.ts'
import { Terminal } from './helpers/terminal.ts'
import { Inbox } from './helpers/wait.ts'

const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))
const KINDS_BOT = fileURLToPath(new URL('./fixtures/kinds-bot.ts', import.meta.url))
/** How long a bot in another process may take to answer. */
const ANSWERS_MS = 60_000
const TIME = String.raw`\[\d\d:\d\d\]`

/** `text` as a pattern that matches it alone. */
function literally (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** `#<n> [hh:mm] <who>: <text>` as a pattern, `n` captured; `text` is a pattern too. */
function line (who: string, text: string): RegExp {
  return new RegExp(String.raw`#(\d+) ${TIME} ${who}: ${text}`)
}

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

  it('blocks a group member by a message\'s number: nothing it sends shows until /unblock; /blocked lists it; all three in /help', async () => {
    const [bob, carol] = await Promise.all([startPeer({ displayName: 'bob' }), startPeer({ displayName: 'carol' })])
    const carolInbox = new Inbox<MessageEvent>(carol.peer, 'message')
    const term = new Terminal([process.execPath, '--conditions=bertybot-source', cli, 'chat', '--name', 'alice', '--data', await tempDir('chat')])
    await term.waitFor(/Type \/help for commands/)

    let mark = term.text.length
    term.type('/help')
    await term.waitFor(/\/block <n\|name> +ignore the sender of message n[^]*\/unblock <n\|name> +hear a blocked account again[^]*\/blocked +the accounts you blocked/, mark)

    term.type('/new Garden')
    await term.waitFor(/created "Garden"/, mark)
    term.type('/invite')
    const [, invitation] = await term.waitFor(/invitation to "Garden":\n(bertybot:\/\/group\/\S+)/, mark)
    const joined = [bob, carol].map(({ peer }) => new Inbox<MemberJoinedEvent>(peer, 'memberJoined'))
    const [bobs, carols] = await Promise.all([bob.peer.joinGroup(invitation!), carol.peer.joinGroup(invitation!)])
    await term.waitFor(/bob joined "Garden"/, mark)
    await term.waitFor(/carol joined "Garden"/, mark)
    // Each sees the two others, so what one sends from now on the others can read.
    await Promise.all(joined.map(async (inbox) => await inbox.until('the two other members to be seen', (events) => new Set(events.map((e) => e.member.account)).size >= 2)))
    await bobs.send({ text: 'before the block' })
    const [, n] = await term.waitFor(line('bob', 'before the block'), mark)

    mark = term.text.length
    term.type('/block nobody-at-all')
    await term.waitFor(/error: "nobody-at-all" is neither a contact link nor an account id/, mark)
    term.type(`/block ${n!}`)
    await term.waitFor(/blocked bob \([^)]{8}\): nothing it sends is shown from now on/, mark)
    term.type('/blocked')
    await term.waitFor(/ {2}1\. bob \([^)]{8}\) {2}since /, mark)

    // Carol writes once she has bob's message: the log gives it to alice's client first (causal order), so it was judged when carol's shows.
    await bobs.send({ text: 'sent while blocked' })
    await carolInbox.until('carol to have bob\'s message', (items) => items.some((m) => m.text === 'sent while blocked'))
    await carols.send({ text: 'carol after it' })
    await term.waitFor(line('carol', 'carol after it'), mark)
    expect(term.text).not.toContain('sent while blocked')

    term.type('/unblock 1')
    await term.waitFor(/unblocked bob \([^)]{8}\): what it sends from now on is shown/, mark)
    term.type('/blocked')
    await term.waitFor(/no one is blocked/, mark)
    await bobs.send({ text: 'after the unblock' })
    await term.waitFor(line('bob', 'after the unblock'), mark)
    expect(term.text).not.toContain('sent while blocked')
    term.press('\x03')
    expect(await term.exited).toBe(0)
  })

  it('shows the names and words of peers with control characters as �, never as escape sequences', async () => {
    const term = new Terminal([process.execPath, '--conditions=bertybot-source', cli, 'chat', '--name', 'alice', '--data', await tempDir('chat')])
    const [, aliceLink = ''] = await term.waitFor(/Your contact link:\n(bertybot:\/\/contact\/\S+)/)
    const mallory = await startPeer({ displayName: 'mal\x1b[2Jlory\nbob' })
    const accepted = new Inbox<ContactAcceptedEvent>(mallory.peer, 'contactAccepted')
    const mark = term.text.length
    const rawMark = term.raw.length
    await mallory.peer.addContact(aliceLink, { message: 'hi \x1b]0;pwned\x07' })
    await term.waitFor(/mal�\[2Jlory�bob wants to be your contact: "hi �\]0;pwned�"\. \/accept or \/decline/, mark)
    term.type('/accept')
    await term.waitFor(/mal�\[2Jlory�bob is now your contact/, mark)
    const [event] = await accepted.count(1, 'alice to accept mallory')
    const first = await event!.group.send({ text: 'one \x1b[H\x1b[2J' })
    await term.waitFor(/#1 \[\d\d:\d\d\] mal�\[2Jlory�bob: one �\[H�\[2J\n/, mark)
    await event!.group.send({ text: 'two', replyTo: first })
    await term.waitFor(/#2 \[\d\d:\d\d\] mal�\[2Jlory�bob \(re #1 "one �\[H�\[2J"\): two\n/, mark)
    term.type('/contacts')
    await term.waitFor(/ {2}mal�\[2Jlory�bob {2}contact\n/, mark)
    const shown = term.raw.slice(rawMark)
    for (const injected of ['\x1b[2J', '\x1b[H', '\x1b]0;', '\x07']) expect(shown).not.toContain(injected)
    term.type('/quit')
    expect(await term.exited).toBe(0)
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

describe('bertybot chat shows and does every kind of message', () => {
  afterEach(async ({ task }) => { await cleanUp(task.result?.state === 'fail') })

  it('with a bot in its own process: Markdown, buttons, files, reactions, edits and deletions both ways; escape sequences never reach the terminal', async () => {
    const botDir = await tempDir('chat-kinds-bot')
    const bot = new BotProcess({ cwd: botDir, env: { BERTYBOT_DATA: join(botDir, 'data'), BERTYBOT_LISTEN: '/ip4/127.0.0.1/tcp/0' }, entry: KINDS_BOT })
    const link = await bot.link()
    const dir = await tempDir('chat-kinds')
    const term = new Terminal([process.execPath, '--conditions=bertybot-source', cli, 'chat', '--name', 'alice', '--data', join(dir, 'data')])
    try {
      await term.waitFor(/Your contact link:/)
      term.type(`/add ${link}`)
      await term.waitFor(/kinds is now your contact/, 0, ANSWERS_MS)

      let mark = term.text.length
      term.type('/help')
      const [help = ''] = await term.waitFor(/Commands:\n[^]*Any other line/, mark)
      for (const usage of ['/reply <n> <text>', '/react <n> <emoji>', '/edit <n> <text>', '/delete <n>', '/press [message#] <n>', '/send-file <path>', '/save <n> [path]']) expect(help).toContain(usage)

      // What /show sends, each kind as the terminal prints it.
      mark = term.text.length
      let rawMark = term.raw.length
      term.type('/show')
      // The bot's reaction to our command prints our line with the reaction under it.
      await term.waitFor(new RegExp(String.raw`${line('you', '/show').source}\n {4}👍 1\n`), mark, ANSWERS_MS)
      const [, rich] = await term.waitFor(line('kinds', 'Bold and italic, code and a link \\(https://example\\.org/docs\\)\n {2}const answer = 42\n'), mark, ANSWERS_MS)
      // On a terminal, the Markdown subset is ANSI bold, italic, code and underline; nothing else.
      expect(term.raw.slice(rawMark)).toContain('\x1b[1mBold\x1b[22m and \x1b[3mitalic\x1b[23m, \x1b[36mcode\x1b[39m and a \x1b[4mlink\x1b[24m (https://example.org/docs)')
      expect(term.raw.slice(rawMark)).toContain('  \x1b[36mconst answer = 42\x1b[39m')
      const [, lunch] = await term.waitFor(new RegExp(String.raw`${line('kinds', 'Lunch at noon\\?').source}\n {4}\[1\] Yes {3}\[2\] No\n {4}\[3\] Maybe later\n {4}/press \d+ <n> presses one\n`), mark, ANSWERS_MS)
      const [, image] = await term.waitFor(new RegExp(String.raw`${line('kinds', 'the chart').source}\n {4}📎 chart\.png \(\d+(\.\d)? kB, image/png\)  /save (\d+)\n`), mark, ANSWERS_MS)
      const [, typo] = await term.waitFor(line('kinds', 'this has a typo: tset\n'), mark, ANSWERS_MS)
      const [, doomed] = await term.waitFor(line('kinds', 'this one goes away\n'), mark, ANSWERS_MS)

      // Buttons: the last message's by number, or a message's named.
      mark = term.text.length
      term.type('/press 3')
      await term.waitFor(new RegExp(String.raw`\(pressed "Maybe later" under #${lunch}\)`), mark)
      await term.waitFor(line('kinds', 'You chose later\\.'), mark, ANSWERS_MS)
      mark = term.text.length
      term.type(`/press ${lunch} 1`)
      await term.waitFor(line('kinds', 'You chose yes\\.'), mark, ANSWERS_MS)
      term.type(`/press ${lunch} 9`)
      await term.waitFor(new RegExp(`message #${lunch} has no button 9\\.`), mark)

      // A reaction, and the same again to take it back.
      mark = term.text.length
      term.type(`/react ${rich} ❤️`)
      await term.waitFor(new RegExp(`#${rich} ❤️ 1\\*\n`), mark, ANSWERS_MS)
      await term.waitFor(line('kinds', 'you reacted ❤️\n'), mark, ANSWERS_MS)
      mark = term.text.length
      term.type(`/react ${rich} ❤️`)
      await term.waitFor(new RegExp(`#${rich} no reactions left\n`), mark, ANSWERS_MS)
      await term.waitFor(line('kinds', 'you reacted ❤️ \\(taken back\\)'), mark, ANSWERS_MS)

      // The bot edits one message and deletes another: each printed again, as it is now.
      mark = term.text.length
      rawMark = term.raw.length
      term.type('/change')
      await term.waitFor(new RegExp(`#${typo} ${TIME} kinds: this had a typo: test \\(edited\\)\n`), mark, ANSWERS_MS)
      expect(term.raw.slice(rawMark)).toContain('this had a typo: \x1b[1mtest\x1b[22m (edited)')
      await term.waitFor(new RegExp(`#${doomed} ${TIME} kinds: \\(deleted\\)\n`), mark, ANSWERS_MS)

      // Ours: numbered by /history, then edited and deleted.
      term.type('a line with a tpyo')
      mark = term.text.length
      term.type('/history 1')
      const [, own, waiting] = await term.waitFor(new RegExp(`last 1 message\\(s\\) in kinds:\n${line('you', 'a line with a tpyo( {2}\\(not delivered yet\\))?\n').source}`), mark)
      // Shown not delivered yet, it is marked again once it is; an edit waits for that (it names the message sent).
      if (waiting !== undefined) await term.waitFor(/\(delivered in kinds: "a line with a tpyo"\)/, mark, ANSWERS_MS)
      mark = term.text.length
      term.type(`/edit ${own} a line without typo`)
      await term.waitFor(new RegExp(`#${own} ${TIME} you: a line without typo \\(edited\\)\n`), mark)
      await term.waitFor(line('kinds', 'you edited a message to "a line without typo"'), mark, ANSWERS_MS)
      mark = term.text.length
      term.type(`/delete ${own}`)
      await term.waitFor(new RegExp(`#${own} ${TIME} you: \\(deleted\\)\n`), mark)
      await term.waitFor(line('kinds', 'you deleted a message'), mark, ANSWERS_MS)

      // Files: the bot's image saved whole; ours received whole.
      mark = term.text.length
      term.type(`/save ${image} ${dir}`)
      await term.waitFor(new RegExp(`saved chart\\.png \\(\\d+(\\.\\d)? kB\\) to ${literally(join(dir, 'chart.png'))}\n`), mark, ANSWERS_MS)
      expect(await readFile(join(dir, 'chart.png'))).toEqual(chart(480, 320))
      term.type(`/save ${image} ${dir}`)
      await term.waitFor(/error: .*EEXIST/, mark, ANSWERS_MS)
      const notes = randomBytes(300_000)
      await writeFile(join(dir, 'notes.bin'), notes)
      mark = term.text.length
      term.type(`/send-file ${join(dir, 'notes.bin')}`)
      await term.waitFor(/\(sending notes\.bin, 293 kB\)/, mark)
      await term.waitFor(line('kinds', `got notes\\.bin, 300000 bytes, sha256 ${createHash('sha256').update(notes).digest('hex')}`), mark, ANSWERS_MS)

      // What a peer sends is never written to the terminal as escape sequences: control characters show as �.
      mark = term.text.length
      rawMark = term.raw.length
      term.type('/escapes')
      await term.waitFor(new RegExp(String.raw`${line('kinds', 'plain �\\[2J�\\]0;pwned� after').source}\n`), mark, ANSWERS_MS)
      await term.waitFor(line('kinds', 'bold �\\[31mred and �\\[Hhome\n'), mark, ANSWERS_MS)
      const shown = term.raw.slice(rawMark)
      for (const injected of ['\x1b[2J', '\x1b]0;', '\x07', '\x1b[31m', '\x1b[H']) expect(shown).not.toContain(injected)

      term.type('/quit')
      expect(await term.exited).toBe(0)
    } finally {
      // What the person saw, to look at: as text, and as the terminal got it (`less -R`).
      const shots = await screenshotsDir()
      await writeFile(join(shots, 'chat-kinds.txt'), term.text)
      await writeFile(join(shots, 'chat-kinds.ansi'), term.raw)
      console.log(`terminal capture: ${join(shots, 'chat-kinds.txt')}`)
    }
  }, 300_000)
})
