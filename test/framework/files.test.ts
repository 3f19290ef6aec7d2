import { createHash, randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { autoAcceptContacts, FileTooLargeError, type Bot } from 'bertybot'
import { createPeer } from 'bertybot/protocol'
import { createTestNetwork, type TestNetwork } from 'bertybot/testing'
import { LevelBlockstore } from 'blockstore-level'
import { CID } from 'multiformats/cid'
import { afterEach, describe, expect, it } from 'vitest'
import { toOutbox } from '../../src/framework/files.ts'
import { BotStore } from '../../src/framework/store.ts'
import { FileRecords } from '../../src/protocol/file-records.ts'
import { StateStore } from '../../src/protocol/state-store.ts'
import { allBlocks } from '../helpers/plain-orbitdb.ts'
import { testLogger } from '../helpers/peers.ts'

let network: TestNetwork
afterEach(async () => { await network.stop() })

async function bytesOf (source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = []
  for await (const chunk of source) chunks.push(chunk)
  return Buffer.concat(chunks)
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

function fileBot (reportPath: string) {
  return (bot: Bot): void => {
    bot.use(autoAcceptContacts())
    bot.command('report', { description: 'sends the report' }, async (ctx) => {
      await ctx.replyWithFile(reportPath, { type: 'text/csv', text: 'here it is' })
    })
    bot.command('huge', { description: 'a file past the limit' }, async (ctx) => {
      await ctx.replyWithFile(new Uint8Array(2 * 1024 * 1024), { name: 'huge.bin', type: 'application/octet-stream' }).catch(async (err: unknown) => {
        await ctx.reply(err instanceof FileTooLargeError ? `too large: at most ${err.limit} bytes` : 'something else')
      })
    })
    bot.onMessage(async (ctx) => {
      const [file] = ctx.message.files
      if (file === undefined) return await ctx.reply(`you said: ${ctx.text}`)
      const bytes = await bytesOf(file.read({ signal: AbortSignal.timeout(30_000) }))
      await ctx.replyWithFile(Buffer.from(bytes).reverse(), { name: `reversed-${file.name}`, type: file.type, text: `got ${file.name}, ${file.size} bytes, ${sha256(bytes)}` }, {})
    })
  }
}

describe('a bot and files', () => {
  it('reads a file a user sends, and replies with files of its own, from bytes and from a path', async () => {
    network = await createTestNetwork()
    const reportPath = join(await network.tempDir('report'), 'report.csv')
    const report = Buffer.from('day,count\n' + Array.from({ length: 5000 }, (_, i) => `${i},${i * i}`).join('\n'))
    await writeFile(reportPath, report)
    const bot = await network.bot(fileBot(reportPath))
    const alice = await network.user('alice')
    await alice.addContact(bot)

    const photo = randomBytes(1_200_000)
    await alice.sendFile(photo, { name: 'photo.jpg', type: 'image/jpeg', preview: randomBytes(500) })
    const reply = await alice.nextMessage()
    expect(reply.text).toBe(`got photo.jpg, ${photo.length} bytes, ${sha256(photo)}`)
    expect(reply.files).toHaveLength(1)
    expect(reply.files[0]).toMatchObject({ name: 'reversed-photo.jpg', type: 'image/jpeg', size: photo.length, preview: undefined })
    expect((await bytesOf(reply.files[0]!.read())).equals(Buffer.from(photo).reverse())).toBe(true)

    await alice.send('/report')
    const sent = await alice.nextMessage()
    expect(sent.text).toBe('here it is')
    expect(sent.files[0]).toMatchObject({ name: 'report.csv', type: 'text/csv', size: report.length })
    expect((await bytesOf(sent.files[0]!.read())).equals(report)).toBe(true)
  })

  it('refuses a file past its peer\'s limit in the handler, with FileTooLargeError', async () => {
    network = await createTestNetwork()
    const bot = await network.bot(fileBot('/nonexistent'), { maxFileSize: 1024 * 1024 })
    const alice = await network.user('alice')
    await alice.addContact(bot)
    await alice.send('/huge')
    expect(await alice.nextReply()).toBe(`too large: at most ${1024 * 1024} bytes`)
  })

  it('sends, after a restart, a queued message with the file it carries, and deletes the files nothing queued refers to', async () => {
    network = await createTestNetwork()
    const dataDir = await network.tempDir('bot')
    let bot = await network.bot(fileBot('/nonexistent'), { dataDir })
    const alice = await network.user('alice')
    const group = await alice.addContact(bot)
    await bot.stop()

    // As a crash leaves it between the outbox's commit and the files' keeping: both files staged, one queued.
    const peer = await createPeer({ dataDir, logger: testLogger })
    const queued = randomBytes(300_000)
    const file = await peer.files.store(queued, { name: 'queued.bin', type: 'application/octet-stream' })
    const orphan = await peer.files.store(randomBytes(300_000), { name: 'orphan.bin', type: 'application/octet-stream' })
    await peer.stop()
    const store = await BotStore.open(dataDir)
    const tx = store.transaction()
    tx.send({ group: group.id, message: { text: 'queued with a file' }, files: [toOutbox(file)] })
    await tx.commit()
    await store.close()

    bot = await network.bot(fileBot('/nonexistent'), { dataDir })
    const message = await alice.nextMessage()
    expect(message.text).toBe('queued with a file')
    expect((await bytesOf(message.files[0]!.read({ signal: AbortSignal.timeout(30_000) }))).equals(queued)).toBe(true)
    await bot.stop()

    const state = await StateStore.open(dataDir)
    expect(await new FileRecords(state).staged()).toEqual([])
    await state.close()
    const blocks = new LevelBlockstore(join(dataDir, 'ipfs', 'blocks'))
    await blocks.open()
    const held = new Set<string>()
    for await (const { cid } of allBlocks(blocks)) held.add(Buffer.from(CID.parse(cid).multihash.bytes).toString('hex'))
    await blocks.close()
    expect(held.has(Buffer.from(CID.parse(file.root).multihash.bytes).toString('hex'))).toBe(true)
    expect(held.has(Buffer.from(CID.parse(orphan.root).multihash.bytes).toString('hex'))).toBe(false)
  })
})
