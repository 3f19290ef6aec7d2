/**
 * `bertybot web`'s server, over raw HTTP and WebSocket: who may talk to it
 * (token, Host, Origin), what it sends with the page (CSP), and how it
 * answers requests that are not what the API declares. The page itself is
 * driven in a browser in browser.test.ts.
 */
import { randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { ChatClient, type MessageView } from '../../src/client/index.ts'
import type { ContactRequestEvent, Group, MessageEvent } from '../../src/protocol/index.ts'
import { serverMessage, uploadResult } from '../../src/web/api.ts'
import { CONTENT_SECURITY_POLICY, newToken, startWebServer, type WebServer } from '../../src/web/index.ts'
import { startPeer, testLogger } from '../helpers/peers.ts'
import { tempDir } from '../helpers/temp.ts'
import { Inbox } from '../helpers/wait.ts'

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, body: string }

/** A GET with the headers given, Host included (fetch does not let a caller set Host). */
async function get (port: number, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => { body += chunk }).on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

/** Opens the API socket; resolves with it open, or rejects with the HTTP status that refused it. */
async function openSocket (port: number, headers: Record<string, string>): Promise<WebSocket> {
  return await new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/api`, { headers })
    socket.once('open', () => { resolve(socket) })
    socket.once('unexpected-response', (_req, res) => { reject(new Error(`refused: ${res.statusCode ?? 0}`)) })
    socket.once('error', reject)
  })
}

/** Sends one raw text and resolves with the server's answer to it, checked against the API's schema. */
async function ask (socket: WebSocket, text: string): Promise<unknown> {
  return await new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData): void => {
      const parsed = serverMessage.parse(JSON.parse(data.toString()))
      if (!('id' in parsed)) return
      socket.off('message', onMessage)
      resolve(parsed)
    }
    socket.on('message', onMessage)
    socket.send(text)
  })
}

let server: WebServer | undefined
let client: ChatClient | undefined

afterEach(async () => {
  await server?.stop()
  await client?.close()
  server = undefined
  client = undefined
})

async function start (): Promise<{ server: WebServer, token: string }> {
  const { peer, dataDir } = await startPeer({ displayName: 'alice', delivery: 'manual' })
  client = await ChatClient.open({ peer, dataDir, logger: testLogger })
  // The server's own files, as the build writes them.
  const assets = await tempDir('web-assets')
  await mkdir(assets, { recursive: true })
  await writeFile(join(assets, 'index.html'), '<!doctype html><title>bertybot</title><script type="module" src="/app.js"></script>')
  await writeFile(join(assets, 'app.js'), 'console.log("app")')
  await writeFile(join(assets, 'app.css'), 'body { margin: 0 }')
  const token = newToken()
  server = await startWebServer({ client, token, logger: testLogger, assetsDir: assets })
  return { server, token }
}

describe('bertybot web: who may use it', () => {
  it('serves 127.0.0.1 only, with a link carrying the token, which it trades for an HttpOnly cookie', async () => {
    const { server, token } = await start()
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${token}`)
    const first = await get(server.port, `/?token=${token}`)
    expect(first.status).toBe(303)
    expect(first.headers.location).toBe('/')
    const cookie = String(first.headers['set-cookie'])
    expect(cookie).toContain(`bertybot-${server.port}=${token}`)
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/SameSite=Strict/)
    const page = await get(server.port, '/', { cookie: `bertybot-${server.port}=${token}` })
    expect(page.status).toBe(200)
    expect(page.body).toContain('<script type="module" src="/app.js">')
    expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY)
    expect(page.headers['x-frame-options']).toBe('DENY')
    expect(page.headers['x-content-type-options']).toBe('nosniff')
    const script = await get(server.port, '/app.js', { cookie: `bertybot-${server.port}=${token}` })
    expect(script.status).toBe(200)
    expect(script.headers['content-type']).toMatch(/^text\/javascript/)
    // Only the page's own files: nothing else in the directory, no way out of it.
    expect((await get(server.port, '/server.js', { cookie: `bertybot-${server.port}=${token}` })).status).toBe(404)
    expect((await get(server.port, '/..%2fpackage.json', { cookie: `bertybot-${server.port}=${token}` })).status).toBe(404)
  })

  it('refuses a request without the token, or with a wrong one, for the page, its files and the API', async () => {
    const { server, token } = await start()
    // The token with its last character changed (a token may end in 'x' already).
    const wrong = `${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}`
    for (const path of ['/', '/app.js', '/api', `/?token=${wrong}`]) {
      const answer = await get(server.port, path)
      expect(answer.status, path).toBe(401)
      expect(answer.body).not.toContain('<script')
    }
    expect((await get(server.port, '/', { cookie: `bertybot-${server.port}=wrong` })).status).toBe(401)
    await expect(openSocket(server.port, { origin: `http://127.0.0.1:${server.port}` })).rejects.toThrow('refused: 401')
  })

  it('refuses a foreign Host (DNS rebinding) even with the token', async () => {
    const { server, token } = await start()
    for (const host of ['evil.example', `evil.example:${server.port}`, `127.0.0.1:${server.port + 1}`]) {
      const answer = await get(server.port, `/?token=${token}`, { host })
      expect(answer.status, host).toBe(421)
      expect(answer.headers['set-cookie']).toBeUndefined()
    }
    expect((await get(server.port, `/?token=${token}`, { host: `localhost:${server.port}` })).status).toBe(303)
  })

  it('refuses the API socket to another site\'s page, even with the cookie', async () => {
    const { server, token } = await start()
    const cookie = `bertybot-${server.port}=${token}`
    await expect(openSocket(server.port, { cookie, origin: 'http://evil.example' })).rejects.toThrow('refused: 403')
    await expect(openSocket(server.port, { cookie, origin: `http://127.0.0.1:${server.port + 1}` })).rejects.toThrow('refused: 403')
    const socket = await openSocket(server.port, { cookie, origin: `http://127.0.0.1:${server.port}` })
    socket.close()
  })
})

describe('bertybot web: the API', () => {
  it('answers hello with who we are and a QR code of our link', async () => {
    const { server, token } = await start()
    const socket = await openSocket(server.port, { cookie: `bertybot-${server.port}=${token}`, origin: `http://127.0.0.1:${server.port}` })
    const answer = await ask(socket, JSON.stringify({ id: 1, method: 'hello', params: {} })) as { id: number, result: { self: { name: string, link: string, qrSvg: string }, conversations: unknown[] } }
    expect(answer.id).toBe(1)
    expect(answer.result.self.name).toBe('alice')
    expect(answer.result.self.link).toMatch(/^bertybot:\/\/contact\//)
    expect(answer.result.self.qrSvg).toMatch(/^<svg/)
    expect(answer.result.conversations).toEqual([])
    socket.close()
  })

  it('answers what is not a request with an error that says what is wrong, and keeps the socket open', async () => {
    const { server, token } = await start()
    const socket = await openSocket(server.port, { cookie: `bertybot-${server.port}=${token}`, origin: `http://127.0.0.1:${server.port}` })
    expect(await ask(socket, 'not json')).toEqual({ id: 0, error: { code: 'ERR_BAD_REQUEST', message: 'not JSON' } })
    expect(await ask(socket, JSON.stringify({ id: 2, method: 'rm -rf', params: {} }))).toEqual({ id: 2, error: { code: 'ERR_BAD_REQUEST', message: 'no method "rm -rf"' } })
    const tooLong = await ask(socket, JSON.stringify({ id: 3, method: 'send', params: { conversation: 'x', text: 'a'.repeat(40_000) } })) as { error: { message: string } }
    expect(tooLong.error.message).toMatch(/^text: /)
    expect(await ask(socket, JSON.stringify({ id: 4, method: 'send', params: { conversation: 'nope', text: 'hi' } }))).toEqual({ id: 4, error: { code: 'ERR_NO_CONVERSATION', message: 'no such conversation' } })
    const badLink = await ask(socket, JSON.stringify({ id: 5, method: 'addContact', params: { link: 'bertybot://contact/garbage' } })) as { error: { code: string } }
    expect(badLink.error.code).toMatch(/^ERR_/)
    expect(socket.readyState).toBe(WebSocket.OPEN)
    socket.close()
  })
})

describe('bertybot web: blocking', () => {
  it('blocks by contact link and unblocks by account id, answering the list each time; refuses what is not an account', async () => {
    const { server, token } = await start()
    const bob = await startPeer({ displayName: 'bob' })
    const socket = await openSocket(server.port, { cookie: `bertybot-${server.port}=${token}`, origin: `http://127.0.0.1:${server.port}` })
    expect(await ask(socket, JSON.stringify({ id: 1, method: 'blocked', params: {} }))).toEqual({ id: 1, result: { blocked: [] } })
    const blocked = await ask(socket, JSON.stringify({ id: 2, method: 'block', params: { account: bob.peer.contactLink(), name: 'bob' } })) as { result: { blocked: Array<{ account: string, name: string, since: number }> } }
    expect(blocked.result.blocked).toEqual([{ account: bob.peer.accountId, name: 'bob', since: expect.any(Number) as number }])
    expect(await ask(socket, JSON.stringify({ id: 3, method: 'blocked', params: {} }))).toEqual({ id: 3, result: blocked.result })
    expect(await ask(socket, JSON.stringify({ id: 4, method: 'block', params: { account: 'bob' } }))).toEqual({ id: 4, error: { code: 'ERR_INVALID_ACCOUNT', message: '"bob" is neither a contact link nor an account id' } })
    const noAccount = await ask(socket, JSON.stringify({ id: 5, method: 'block', params: {} })) as { error: { code: string } }
    expect(noAccount.error.code).toBe('ERR_BAD_REQUEST')
    expect(await ask(socket, JSON.stringify({ id: 6, method: 'unblock', params: { account: bob.peer.accountId } }))).toEqual({ id: 6, result: { blocked: [] } })
    socket.close()
  })
})

describe('bertybot web: files', () => {
  /** Alice's client behind the server, and bob, her contact, a plain peer. */
  async function withBob (): Promise<{ server: WebServer, token: string, bob: Awaited<ReturnType<typeof startPeer>>, bobGroup: Group, conversation: string }> {
    const started = await start()
    const bob = await startPeer({ displayName: 'bob' })
    const requests = new Inbox<ContactRequestEvent>(bob.peer, 'contactRequest')
    const seen = new Inbox<MessageView>(client!, 'message')
    await client!.addContact(bob.peer.contactLink())
    const [request] = await requests.count(1, 'the request at bob')
    const bobGroup = await request!.accept()
    await bobGroup.send({ text: 'hi' })
    await seen.count(1, 'bob\'s first message at alice')
    return { ...started, bob, bobGroup, conversation: bobGroup.id }
  }

  /** The seq at alice of bob's message `id`, once it is there. */
  async function seqOf (id: string): Promise<number> {
    const seen = new Inbox<MessageView>(client!, 'message')
    const now = (await client!.history(bobConversation!)).messages.find((m) => m.messageId === id)
    if (now !== undefined) return now.seq
    const [view] = await seen.until(`message ${id} at alice`, (all) => all.some((m) => m.messageId === id)).then((all) => all.filter((m) => m.messageId === id))
    return view!.seq
  }
  let bobConversation: string | undefined

  it('serves what others sent with a safe type: raster images inline, anything else as an attachment; nosniff and a sandbox everywhere', async () => {
    const { server, token, bobGroup, conversation } = await withBob()
    bobConversation = conversation
    const cookie = `bertybot-${server.port}=${token}`
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')
    const html = Buffer.from('<script>parent.__pwned = 1</script>')
    const ids = {
      png: await bobGroup.sendFile(png, { name: 'dot.png', type: 'image/png', preview: png }),
      html: await bobGroup.sendFile(html, { name: 'page.html', type: 'text/html' }),
      svg: await bobGroup.sendFile(html, { name: 'evil.svg', type: 'image/svg+xml', preview: html })
    }
    const seqs = { png: await seqOf(ids.png), html: await seqOf(ids.html), svg: await seqOf(ids.svg) }

    const image = await get(server.port, `/files/${conversation}/${seqs.png}/0`, { cookie })
    expect(image.status).toBe(200)
    expect(image.headers).toMatchObject({ 'content-type': 'image/png', 'content-disposition': 'inline; filename=dot.png', 'x-content-type-options': 'nosniff', 'content-security-policy': "default-src 'none'; sandbox", 'cross-origin-resource-policy': 'same-origin' })
    expect((await get(server.port, `/files/${conversation}/${seqs.png}/0?download`, { cookie })).headers['content-disposition']).toBe('attachment; filename=dot.png')
    expect((await get(server.port, `/files/${conversation}/${seqs.png}/0/preview`, { cookie })).headers['content-type']).toBe('image/png')

    for (const seq of [seqs.html, seqs.svg]) {
      const answer = await get(server.port, `/files/${conversation}/${seq}/0`, { cookie })
      expect(answer.status).toBe(200)
      expect(answer.body).toBe(html.toString())
      expect(answer.headers['content-type']).toBe('application/octet-stream')
      expect(answer.headers['content-disposition']).toMatch(/^attachment; filename=(page\.html|evil\.svg)$/)
      expect(answer.headers['content-security-policy']).toBe("default-src 'none'; sandbox")
    }
    // An SVG's preview is not shown at all.
    expect((await get(server.port, `/files/${conversation}/${seqs.svg}/0/preview`, { cookie })).status).toBe(404)
    expect((await get(server.port, `/files/${conversation}/${seqs.png}/1`, { cookie })).status).toBe(404)
    expect((await get(server.port, `/files/${conversation}/x/0`, { cookie })).status).toBe(404)
    expect((await get(server.port, `/files/nope/${seqs.png}/0`, { cookie })).status).toBe(404)
  }, 60_000)

  it('keeps the file routes behind the same checks: no token, a foreign Host, another site\'s Origin', async () => {
    const { server, token, bobGroup, conversation } = await withBob()
    bobConversation = conversation
    const seq = await seqOf(await bobGroup.sendFile(Buffer.from('secret bytes'), { name: 'secret.txt', type: 'text/plain' }))
    const cookie = `bertybot-${server.port}=${token}`
    for (const path of [`/files/${conversation}/${seq}/0`, `/files/${conversation}/${seq}/0/preview`]) {
      expect((await get(server.port, path)).status, path).toBe(401)
      expect((await get(server.port, path, { cookie: `bertybot-${server.port}=wrong` })).status, path).toBe(401)
      expect((await get(server.port, path, { cookie, host: `evil.example:${server.port}` })).status, path).toBe(421)
      expect((await get(server.port, path, { cookie, origin: 'http://evil.example' })).status, path).toBe(403)
    }
    // With all of them right, it is served.
    expect((await get(server.port, `/files/${conversation}/${seq}/0`, { cookie, origin: `http://127.0.0.1:${server.port}` })).body).toBe('secret bytes')
    const form = (): FormData => {
      const data = new FormData()
      data.append('size', '5')
      data.append('file', new Blob(['hello']), 'hello.txt')
      return data
    }
    const post = async (headers: Record<string, string>): Promise<number> => (await fetch(`http://127.0.0.1:${server.port}/files/${conversation}`, { method: 'POST', body: form(), headers })).status
    expect(await post({ origin: `http://127.0.0.1:${server.port}` })).toBe(401)
    expect(await post({ cookie, origin: 'http://evil.example' })).toBe(403)
    expect((await client!.history(conversation)).messages.filter((m) => m.sender.own)).toEqual([])
  }, 60_000)

  it('takes an upload from the page and sends it: the contact receives the file whole, with its preview; a lying size fails', async () => {
    const { server, token, bob, conversation } = await withBob()
    const bobInbox = new Inbox<MessageEvent>(bob.peer, 'message')
    const bytes = randomBytes(200_000)
    const preview = randomBytes(500)
    const data = new FormData()
    data.append('size', String(bytes.length))
    data.append('preview', new Blob([preview]), 'preview')
    data.append('file', new Blob([bytes], { type: 'image/png' }), 'holiday.png')
    const headers = { cookie: `bertybot-${server.port}=${token}`, origin: `http://127.0.0.1:${server.port}` }
    const answer = await fetch(`http://127.0.0.1:${server.port}/files/${conversation}`, { method: 'POST', body: data, headers })
    expect(answer.status).toBe(200)
    const { message } = uploadResult.parse(await answer.json()) as { message: { files: unknown[] } }
    expect(message.files).toEqual([{ index: 0, name: 'holiday.png', type: 'image/png', size: bytes.length, preview: true }])
    const arrived = (await bobInbox.until('the file at bob', (all) => all.some((m) => m.files.length > 0))).find((m) => m.files.length > 0)!
    const [file] = arrived.files
    expect([file!.name, file!.type, file!.size, Buffer.from(file!.preview ?? []).equals(preview)]).toEqual(['holiday.png', 'image/png', bytes.length, true])
    const chunks: Uint8Array[] = []
    for await (const chunk of file!.read({ signal: AbortSignal.timeout(30_000) })) chunks.push(chunk)
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true)

    const lying = new FormData()
    lying.append('size', '3')
    lying.append('file', new Blob(['more than three']), 'lie.txt')
    const refused = await fetch(`http://127.0.0.1:${server.port}/files/${conversation}`, { method: 'POST', body: lying, headers })
    expect(refused.status).toBe(413)
    expect(uploadResult.parse(await refused.json())).toMatchObject({ error: { code: 'ERR_FILE_TOO_LARGE' } })
  }, 60_000)
})
