/**
 * `bertybot web`'s server, over raw HTTP and WebSocket: who may talk to it
 * (token, Host, Origin), what it sends with the page (CSP), and how it
 * answers requests that are not what the API declares. The page itself is
 * driven in a browser in browser.test.ts.
 */
import { request as httpRequest } from 'node:http'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { ChatClient } from '../../src/client/index.ts'
import { serverMessage } from '../../src/web/api.ts'
import { CONTENT_SECURITY_POLICY, newToken, startWebServer, type WebServer } from '../../src/web/index.ts'
import { startPeer, testLogger } from '../helpers/peers.ts'
import { tempDir } from '../helpers/temp.ts'

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
    for (const path of ['/', '/app.js', '/api', `/?token=${token.slice(0, -1)}x`]) {
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
