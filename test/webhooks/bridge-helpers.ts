/** A bridge bot on a test network, an admin with a group the bot is in, and requests to its hooks. */
import { autoAcceptContacts, type Bot } from 'bertybot'
import { useBridge, type Bridge, type BridgeOptions } from 'bertybot/bridge'
import type { ManualClock, TestNetwork, TestUser } from 'bertybot/testing'
import type { Group } from 'bertybot/protocol'

export interface BridgeSetup {
  bot: Bot
  admin: TestUser
  /** The admin's 1:1 conversation with the bot. */
  direct: Group
  /** A group of the admin's the bot is in. */
  ops: Group
}

export async function startBridgeBot (network: TestNetwork, options: { clock?: ManualClock, admin: TestUser, dataDir?: string, bridge?: Partial<BridgeOptions>, onBridge?: (bridge: Bridge) => void }): Promise<Bot> {
  return await network.bot((bot) => {
    bot.use(autoAcceptContacts())
    const bridge = useBridge(bot, { isAdmin: (account) => account === options.admin.peer.accountId, ...options.bridge })
    options.onBridge?.(bridge)
    bot.onGroupInvitation(async (ctx) => { if (ctx.sender.account === options.admin.peer.accountId) await ctx.accept() })
  }, { ...(options.clock === undefined ? {} : { clock: options.clock }), http: { host: '127.0.0.1', port: 0 }, ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }) })
}

/** The admin adds the bot and brings it into a new group named `groupName`. */
export async function adminWithGroup (bot: Bot, admin: TestUser, groupName = 'ops'): Promise<{ direct: Group, ops: Group }> {
  const direct = await admin.addContact(bot)
  const ops = await admin.createGroup(groupName)
  await admin.invite(ops, bot)
  admin.open(direct)
  return { direct, ops }
}

/** Sends a command in `group` and returns the bot's answer there. */
export async function ask (user: TestUser, group: Group, command: string): Promise<string> {
  user.open(group)
  await user.send(command)
  return await user.nextReply()
}

/** `/bridge add` in the 1:1 conversation: the route's URL and secret, from the answer. */
export async function addRoute (admin: TestUser, direct: Group, command: string): Promise<{ url: string, secret: string, answer: string }> {
  const answer = await ask(admin, direct, command)
  const url = /^URL: (\S+)$/m.exec(answer)?.[1]
  const secret = /^Secret: (\S+)$/m.exec(answer)?.[1]
  if (url === undefined || secret === undefined) throw new Error(`no URL and secret in "${answer}"`)
  return { url, secret, answer }
}

export interface HookResponse { status: number, body: Record<string, unknown> }

/** POSTs to a hook; `body` a string is sent as is, anything else as JSON. */
export async function post (url: string, body: unknown, headers: Record<string, string> = {}): Promise<HookResponse> {
  const text = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body)
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers },
    body: text
  })
  const raw = await response.text()
  let parsed: Record<string, unknown> = {}
  try {
    parsed = JSON.parse(raw) as Record<string, unknown>
  } catch { /* not JSON: kept empty */ }
  return { status: response.status, body: parsed }
}

export const bearer = (secret: string): Record<string, string> => ({ authorization: `Bearer ${secret}` })
