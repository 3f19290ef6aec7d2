import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { autoAcceptContacts, ConfigError, createBot, loadConfig, loadSettings } from 'bertybot'
import { createLogger, createReplica } from 'bertybot/protocol'
import { createTestNetwork } from 'bertybot/testing'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { tempDir } from '../helpers/temp.ts'

describe('bot configuration', () => {
  it('takes code first, then the environment, then .env, then the bot\'s defaults', async () => {
    const dir = await tempDir('config')
    const envFile = join(dir, '.env')
    await writeFile(envFile, 'BERTYBOT_NAME=from-file\nBERTYBOT_DATA=./file-data\nBERTYBOT_CONCURRENCY=4\n')
    const fromFile = loadConfig({ envFile, env: undefined, defaults: { displayName: 'default-name', timezone: 'UTC' } })
    expect(fromFile).toMatchObject({ displayName: 'from-file', dataDir: './file-data', concurrency: 4, timezone: 'UTC' })

    process.env.BERTYBOT_NAME = 'from-env'
    try {
      expect(loadConfig({ envFile }).displayName).toBe('from-env')
      expect(loadConfig({ envFile, displayName: 'from-code' }).displayName).toBe('from-code')
    } finally {
      delete process.env.BERTYBOT_NAME
    }
    expect(loadConfig({ env: { BERTYBOT_LISTEN: '/ip4/127.0.0.1/tcp/0, /ip4/127.0.0.1/tcp/0/ws' } }).listen).toEqual(['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'])
  })

  it('reads the HTTP endpoint\'s address: off by default, a port on 127.0.0.1, or host:port', () => {
    expect(loadConfig({ env: {} }).http).toBeUndefined()
    expect(loadConfig({ env: { BERTYBOT_HTTP: 'off' } }).http).toBeUndefined()
    expect(loadConfig({ env: { BERTYBOT_HTTP: '8080' } }).http).toEqual({ host: '127.0.0.1', port: 8080 })
    expect(loadConfig({ env: { BERTYBOT_HTTP: '0.0.0.0:9464' } }).http).toEqual({ host: '0.0.0.0', port: 9464 })
    expect(loadConfig({ env: { BERTYBOT_HTTP: '[::1]:80' } }).http).toEqual({ host: '::1', port: 80 })
  })

  it('turns mDNS on only when asked: off by default, on with BERTYBOT_MDNS=on or the mdns option', () => {
    expect(loadConfig({ env: {} }).mdns).toBe(false)
    expect(loadConfig({ env: { BERTYBOT_MDNS: 'on' } }).mdns).toBe(true)
    expect(loadConfig({ env: { BERTYBOT_MDNS: 'off' } }).mdns).toBe(false)
    expect(loadConfig({ env: { BERTYBOT_MDNS: 'true' } }).mdns).toBe(true)
    expect(loadConfig({ env: { BERTYBOT_MDNS: 'on' }, mdns: false }).mdns).toBe(false)
    expect(loadConfig({ env: {}, mdns: true }).mdns).toBe(true)
    expect(() => loadConfig({ env: { BERTYBOT_MDNS: 'sometimes' } })).toThrow('BERTYBOT_MDNS: "sometimes" is neither on nor off')
  })

  it('reads a bot\'s own settings, naming the variable of a bad or missing one', () => {
    const schema = z.object({ GREETING: z.string(), RETRIES: z.coerce.number().int().min(0).default(3) })
    expect(loadSettings(schema, { env: { GREETING: 'hi', RETRIES: '' } })).toEqual({ GREETING: 'hi', RETRIES: 3 })
    expect(() => loadSettings(schema, { env: {} })).toThrow('GREETING: is required')
    expect(() => loadSettings(schema, { env: { GREETING: 'hi', RETRIES: '-1' } })).toThrow(/^RETRIES: /)
  })

  it('stops start-up on a bad value, naming the variable and what is wrong', async () => {
    const bad = (env: Record<string, string>): ConfigError => {
      try {
        loadConfig({ env })
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError)
        return err as ConfigError
      }
      throw new Error('no error')
    }
    expect(bad({ BERTYBOT_LISTEN: 'localhost:4001' }).message).toBe('BERTYBOT_LISTEN: "localhost:4001" is not a multiaddr')
    expect(bad({ BERTYBOT_BOOTSTRAP: '/ip4/127.0.0.1/tcp/4001' }).message).toMatch(/^BERTYBOT_BOOTSTRAP: .*\/p2p\//)
    expect(bad({ BERTYBOT_TIMEZONE: 'Mars/Olympus' }).variable).toBe('BERTYBOT_TIMEZONE')
    expect(bad({ BERTYBOT_CONCURRENCY: 'many' }).variable).toBe('BERTYBOT_CONCURRENCY')
    expect(bad({ BERTYBOT_LOG_LEVEL: 'loud' }).message).toMatch(/^BERTYBOT_LOG_LEVEL: /)
    expect(bad({ BERTYBOT_REPLICAS: 'bertybot://replica/nope' }).message).toMatch(/^BERTYBOT_REPLICAS: .*replica link/)
    expect(bad({ BERTYBOT_DHT: 'maybe' }).variable).toBe('BERTYBOT_DHT')
    expect(bad({ BERTYBOT_ANNOUNCE: 'somewhere' }).variable).toBe('BERTYBOT_ANNOUNCE')
    expect(bad({ BERTYBOT_HTTP: 'localhost' }).message).toMatch(/^BERTYBOT_HTTP: "localhost" is not an address to listen on/)
    expect(bad({ BERTYBOT_HTTP: '99999' }).variable).toBe('BERTYBOT_HTTP')
    await expect(createBot({ env: {}, listen: ['nope'] })).rejects.toThrow('option listen: "nope" is not a multiaddr')
  })

  it('names every bad variable at once, not only the first', () => {
    let error: ConfigError | undefined
    try {
      loadConfig({ env: { BERTYBOT_LISTEN: 'nowhere', BERTYBOT_DHT: 'maybe', BERTYBOT_LOG_LEVEL: 'loud' } })
    } catch (err) {
      error = err as ConfigError
    }
    expect(error?.problems.map((p) => p.variable)).toEqual(['BERTYBOT_LISTEN', 'BERTYBOT_DHT', 'BERTYBOT_LOG_LEVEL'])
    expect(error?.message).toMatch(/^BERTYBOT_LISTEN: .*; BERTYBOT_DHT: .*; BERTYBOT_LOG_LEVEL: /)
    const schema = z.object({ GREETING: z.string(), RETRIES: z.coerce.number().int().min(0) })
    expect(() => loadSettings(schema, { env: { RETRIES: '-1' } })).toThrow(/^GREETING: is required; RETRIES: /)
  })

  it('registers a bot\'s conversations with the replicas it is given, also those its handlers create', async () => {
    const network = await createTestNetwork()
    try {
      const replica = await createReplica({ dataDir: await network.tempDir('replica'), logger: createLogger({ level: 'warn' }) })
      const bot = await network.bot((b) => {
        b.use(autoAcceptContacts())
        // A group made by a handler, as the announcement bot's channels are.
        b.command('room', async (ctx) => { await ctx.reply((await ctx.createGroup({ name: 'room' })).id) })
      }, { replicas: [replica.link()] })
      const replicated = async (groupId: string): Promise<void> => {
        await new Promise<void>((resolve) => {
          const check = (): void => {
            if (!replica.groups().some((g) => g.id === groupId)) return
            replica.off('group', check)
            resolve()
          }
          replica.on('group', check)
          check()
        })
      }
      const alice = await network.user('alice')
      const group = await alice.addContact(bot)
      await replicated(group.id)
      await alice.send('/room')
      await replicated(await alice.nextReply())
      await replica.stop()
    } finally {
      await network.stop()
    }
  })
})
