/**
 * The chat's commands on messages, which name a message by the number it
 * was shown with: reply, react (again to take it back), edit and delete
 * one's own, press a button, send a file, save a message's files. What they
 * change is printed when the client tells it (`chat-printer.ts`).
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { rm, stat } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import mime from 'mime'
import type { FileView } from '../client/index.ts'
import type { ShownMessage } from './chat-messages.ts'
import { safeText, sizeText } from './chat-lines.ts'
import type { ChatState, Command } from './chat-session.ts'

/** How long a save waits for a peer holding the file. */
const SAVE_TIMEOUT_MS = 10 * 60_000

export function messageCommands (state: ChatState): Record<string, Command> {
  const { client, print } = state

  /** The message shown as `#n` (`n` may carry its `#`), or undefined after saying why not. */
  const shownAs = (n: string): ShownMessage | undefined => {
    const number = /^#?\d+$/.test(n) ? Number(n.replace('#', '')) : undefined
    const shown = number === undefined ? undefined : state.shown.byNumber(number)
    if (shown === undefined) print(`no message #${n.replace('#', '')} (the numbers are those shown since this chat started; /history shows older ones).`)
    return shown
  }

  /** `<n> <rest>`, or undefined after printing the usage. */
  const numbered = (args: string, usage: string): [ShownMessage, string] | undefined => {
    const [n = '', ...rest] = args.split(/\s+/)
    if (!/^#?\d+$/.test(n)) {
      print(`usage: ${usage}, n being the number shown before a message (#3)`)
      return undefined
    }
    const shown = shownAs(n)
    return shown === undefined ? undefined : [shown, rest.join(' ')]
  }

  const reply = async (args: string): Promise<void> => {
    const [number = '', ...words] = args.split(/\s+/)
    const text = words.join(' ')
    if (!/^#?\d+$/.test(number) || text === '') return print('usage: /reply <n> <text>, n being the number shown before a message (#3)')
    const target = shownAs(number)
    if (target === undefined) return
    if (target.id === undefined) return print(`message #${target.number ?? '?'} has not gone out yet: it can be answered once it has.`)
    await client.send(target.group.id, text, target.id)
  }

  const react = async (args: string): Promise<void> => {
    const found = numbered(args, '/react <n> <emoji>')
    if (found === undefined) return
    const [target, emoji] = found
    if (emoji === '') return print('usage: /react <n> <emoji>, such as /react 3 👍')
    const mine = (await client.history(target.group.id, { before: target.seq + 1, limit: 1 })).messages[0]?.reactions.some((r) => r.own && r.emoji === emoji) === true
    await client.react(target.group.id, target.seq, emoji, { remove: mine })
  }

  const press = async (args: string): Promise<void> => {
    const words = args.split(/\s+/).filter((w) => w !== '')
    if (words.length === 0 || words.length > 2 || !words.every((w) => /^#?\d+$/.test(w))) return print('usage: /press <n> on the last message with buttons, or /press <message#> <n>')
    const messageNumber = words.length === 2 ? words[0] as string : state.shown.lastWithButtons === undefined ? undefined : String(state.shown.lastWithButtons)
    if (messageNumber === undefined) return print('no message with buttons shown yet.')
    const target = shownAs(messageNumber)
    if (target === undefined) return
    const index = Number(words.at(-1)) - 1
    const button = target.buttons.flat()[index]
    if (button === undefined) return print(`message #${target.number ?? '?'} has no button ${index + 1}.`)
    await client.press(target.group.id, target.seq, button.payload)
    print(`(pressed "${button.label}" under #${target.number ?? '?'})`)
  }

  const sendFile = async (path: string): Promise<void> => {
    if (path === '') return print('usage: /send-file <path>')
    if (state.open === undefined) return print('no conversation open: /open one first (see /groups).')
    const full = resolve(path)
    const info = await stat(full)
    if (!info.isFile()) return print(`${path} is not a file.`)
    if (info.size > client.maxFileSize) return print(`${basename(full)} has ${sizeText(info.size)}; files of at most ${sizeText(client.maxFileSize)} can be sent.`)
    const type = mime.getType(full) ?? 'application/octet-stream'
    // No preview: the terminal draws no image. The page shows such an image from the file itself, on request.
    await client.sendFile(state.open.id, createReadStream(full), { name: basename(full), type, size: info.size })
    print(`(sending ${basename(full)}, ${sizeText(info.size)})`)
  }

  const save = async (args: string): Promise<void> => {
    const [n = '', ...rest] = args.split(/\s+/)
    if (!/^#?\d+$/.test(n)) return print('usage: /save <n> [path]: the files of message n, into path (a file, or a directory) or the current directory')
    const target = shownAs(n)
    if (target === undefined) return
    const view = (await client.history(target.group.id, { before: target.seq + 1, limit: 1 })).messages[0]
    const files = view?.seq === target.seq ? view.files : []
    if (files.length === 0) return print(`message #${target.number ?? '?'} has no file.`)
    const where = resolve(rest.join(' ') === '' ? '.' : rest.join(' '))
    const isDirectory = await stat(where).then((s) => s.isDirectory(), () => false)
    if (!isDirectory && files.length > 1) return print(`message #${target.number ?? '?'} has ${files.length} files: give a directory.`)
    // The files come while the person goes on: a peer that holds them may take minutes to be found.
    for (const file of files) {
      const path = isDirectory ? join(where, basename(file.name)) : where
      print(`(saving ${safeText(file.name)} to ${path})`)
      saveFile(target, file, path).then(
        () => { print(`saved ${safeText(file.name)} (${sizeText(file.size)}) to ${path}`) },
        (err: unknown) => { print(`error: could not save ${safeText(file.name)}: ${(err as Error).message}`) })
    }
  }

  const saveFile = async (target: ShownMessage, file: FileView, path: string): Promise<void> => {
    const read = await client.readFile(target.group.id, target.seq, file.index, { signal: AbortSignal.timeout(SAVE_TIMEOUT_MS) })
    try {
      // 'wx': never over a file that is there; a read that fails leaves nothing half-written.
      await pipeline(read.bytes, createWriteStream(path, { flags: 'wx' }))
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') await rm(path, { force: true })
      throw err
    }
  }

  return {
    reply: { usage: '/reply <n> <text>', help: 'answer message number n (in its conversation)', run: reply },
    react: { usage: '/react <n> <emoji>', help: 'put an emoji on message n (again to take it back)', run: react },
    edit: {
      usage: '/edit <n> <text>',
      help: 'change the text of your message n, for everyone',
      run: async (args) => {
        const found = numbered(args, '/edit <n> <text>')
        if (found === undefined) return
        if (found[1] === '') return print('usage: /edit <n> <text>')
        await client.edit(found[0].group.id, found[0].seq, found[1])
      }
    },
    delete: {
      usage: '/delete <n>',
      help: 'delete your message n (in a group you are an admin of, anyone\'s), for everyone',
      run: async (args) => {
        const found = numbered(args, '/delete <n>')
        if (found !== undefined) await client.delete(found[0].group.id, found[0].seq)
      }
    },
    press: { usage: '/press [message#] <n>', help: 'press button n of the last message with buttons (or of message#)', run: press },
    'send-file': { usage: '/send-file <path>', help: 'send a file to the open conversation', run: sendFile },
    save: { usage: '/save <n> [path]', help: 'save the files of message n (into path, or here)', run: save }
  }
}
