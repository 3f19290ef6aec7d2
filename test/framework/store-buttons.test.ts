/** The outbox keeps messages of every kind, reads what format 1 wrote, and remembers the buttons the bot's sent messages offer. */
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { describe, expect, it } from 'vitest'
import { MAX_OFFERED } from '../../src/framework/offered-buttons.ts'
import { BotStore } from '../../src/framework/store.ts'
import { tempDir } from '../helpers/temp.ts'

const YES_NO = [[{ label: 'Yes', payload: 'yes' }, { label: 'No', payload: 'no' }]]

describe('the bot store', () => {
  it('keeps a message of each kind in the outbox as it was queued, across a reopen', async () => {
    const dir = await tempDir('store')
    let store = await BotStore.open(dir)
    const tx = store.transaction()
    const messages = [
      { text: 'vote', format: 'markdown' as const, buttons: YES_NO },
      { kind: 'reaction' as const, target: 'm1', emoji: '👍' },
      { kind: 'edit' as const, target: 'm1', text: 'edited' },
      { kind: 'deletion' as const, target: 'm1' },
      { kind: 'buttonPress' as const, target: 'm1', payload: 'yes' }
    ]
    for (const message of messages) tx.send({ group: 'g', message })
    await tx.commit()
    await store.close()
    store = await BotStore.open(dir)
    expect((await store.pending()).map((item) => item.message)).toEqual(messages)
    await store.close()
  })

  it('reads the text messages format 1 left in the outbox', async () => {
    const dir = await tempDir('store')
    await (await BotStore.open(dir)).close()
    const db = new ClassicLevel<string, Uint8Array>(join(dir, 'bot'), { valueEncoding: 'view' })
    await db.put('format', new TextEncoder().encode('1'))
    const outbox = db.sublevel<string, Uint8Array>('outbox', { valueEncoding: 'view' })
    await outbox.put('0000000000000000', new TextEncoder().encode(JSON.stringify({ group: 'g', text: 'queued by an older bertybot', replyTo: 'm0', tag: 't' })))
    await outbox.put('0000000000000001', new TextEncoder().encode(JSON.stringify({ group: 'g', text: 'and sealed', sealed: Buffer.from([1, 2, 3]).toString('base64') })))
    await db.close()
    const store = await BotStore.open(dir)
    const [first, second] = await store.pending()
    expect(first).toEqual({ seq: 0, group: 'g', message: { text: 'queued by an older bertybot', replyTo: 'm0' }, tag: 't' })
    expect(second).toEqual({ seq: 1, group: 'g', message: { text: 'and sealed' }, sealed: new Uint8Array([1, 2, 3]) })
    await store.close()
    const reopened = new ClassicLevel<string, Uint8Array>(join(dir, 'bot'), { valueEncoding: 'view' })
    expect(new TextDecoder().decode(await reopened.get('format'))).toBe('2')
    await reopened.close()
  })

  it('remembers the buttons a sent message offers, as the bot\'s edits and deletions change them, across a reopen', async () => {
    const dir = await tempDir('store')
    let store = await BotStore.open(dir)
    const tx = store.transaction()
    tx.send({ group: 'g', message: { text: 'vote', buttons: YES_NO } })
    tx.send({ group: 'g', message: { text: 'no buttons' } })
    tx.send({ group: 'g', message: { text: 'another vote', buttons: [[{ label: 'A', payload: 'a' }], [{ label: 'B', payload: 'b' }]] } })
    const [vote, plain, another] = await tx.commit()
    await store.markSentMany([vote!, plain!, another!], ['m1', 'm2', 'm3'])
    expect(await store.offeredButtons('m1')).toEqual({ group: 'g', payloads: ['yes', 'no'] })
    expect(await store.offeredButtons('m2')).toBeUndefined()
    expect(await store.offeredButtons('m3')).toEqual({ group: 'g', payloads: ['a', 'b'] })

    const changes = store.transaction()
    changes.send({ group: 'g', message: { kind: 'edit', target: 'm1', text: 'vote again', buttons: [[{ label: 'Maybe', payload: 'maybe' }]] } })
    changes.send({ group: 'g', message: { kind: 'edit', target: 'm2', text: 'now with one', buttons: [[{ label: 'OK', payload: 'ok' }]] } })
    changes.send({ group: 'g', message: { kind: 'edit', target: 'm3', text: 'closed' } })
    const [edit1, edit2, edit3] = await changes.commit()
    await store.markSentMany([edit1!, edit2!, edit3!], ['e1', 'e2', 'e3'])
    expect(await store.offeredButtons('m1')).toEqual({ group: 'g', payloads: ['maybe'] })
    expect(await store.offeredButtons('m2')).toEqual({ group: 'g', payloads: ['ok'] })
    expect(await store.offeredButtons('m3')).toBeUndefined()
    expect(await store.offeredButtons('e1')).toBeUndefined()

    await store.close()
    store = await BotStore.open(dir)
    expect(await store.offeredButtons('m1')).toEqual({ group: 'g', payloads: ['maybe'] })
    const deletion = store.transaction()
    deletion.send({ group: 'g', message: { kind: 'deletion', target: 'm1' } })
    const [deleted] = await deletion.commit()
    await store.markSent(deleted!, 'd1')
    expect(await store.offeredButtons('m1')).toBeUndefined()
    expect(await store.offeredButtons('m2')).toEqual({ group: 'g', payloads: ['ok'] })
    await store.close()
  })

  it('forgets the buttons of the oldest messages past its bound', async () => {
    const store = await BotStore.open(await tempDir('store'))
    const total = MAX_OFFERED + 1_001
    const tx = store.transaction()
    for (let i = 0; i < total; i++) tx.send({ group: 'g', message: { text: `vote ${i}`, buttons: YES_NO } })
    const items = await tx.commit()
    await store.markSentMany(items, items.map((_, i) => `m${String(i).padStart(6, '0')}`))
    expect(await store.offeredButtons('m000000')).toBeUndefined()
    expect(await store.offeredButtons(`m${String(total - MAX_OFFERED - 1).padStart(6, '0')}`)).toBeUndefined()
    expect(await store.offeredButtons(`m${String(total - MAX_OFFERED).padStart(6, '0')}`)).toEqual({ group: 'g', payloads: ['yes', 'no'] })
    expect(await store.offeredButtons(`m${String(total - 1).padStart(6, '0')}`)).toEqual({ group: 'g', payloads: ['yes', 'no'] })
    await store.close()
  })
})
