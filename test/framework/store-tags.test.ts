/** Tags of sent messages: recorded when a message leaves the outbox, found both ways, forgotten after their time. */
import { describe, expect, it } from 'vitest'
import { BotStore } from '../../src/framework/store.ts'
import { tempDir } from '../helpers/temp.ts'

describe('the store\'s message tags', () => {
  it('records a tagged message\'s id when it is sent, keeps it across a reopen, and forgets old ones', async () => {
    const dir = await tempDir('store')
    let store = await BotStore.open(dir)
    const tx = store.transaction()
    tx.send({ group: 'g', message: { text: 'firing' }, tag: 'alert:1' })
    tx.send({ group: 'g', message: { text: 'resolved' }, replyToTag: 'alert:1' })
    const [firing, resolved] = await tx.commit()
    expect(resolved?.replyToTag).toBe('alert:1')
    expect(await store.messageIdOf('alert:1')).toBeUndefined()
    await store.markSent(firing!, 'message-id-1')
    await store.markSent(resolved!, 'message-id-2')
    expect(await store.messageIdOf('alert:1')).toBe('message-id-1')
    expect(await store.tagOf('message-id-1')).toBe('alert:1')
    expect(await store.tagOf('message-id-2')).toBeUndefined()
    expect(await store.outboxSize()).toBe(0)

    await store.close()
    store = await BotStore.open(dir)
    expect(await store.messageIdOf('alert:1')).toBe('message-id-1')
    expect(await store.forgetTagsBefore(Date.now() - 60_000)).toBe(0)
    expect(await store.forgetTagsBefore(Date.now() + 1)).toBe(2)
    expect(await store.messageIdOf('alert:1')).toBeUndefined()
    expect(await store.tagOf('message-id-1')).toBeUndefined()
    await store.close()
  })

  it('takes a dropped message out of the outbox and records no tag for it', async () => {
    const store = await BotStore.open(await tempDir('store'))
    const tx = store.transaction()
    tx.send({ group: 'g', message: { text: 'to a group the bot left' }, tag: 'alert:2' })
    tx.send({ group: 'g', message: { text: 'still waiting' } })
    const [dropped] = await tx.commit()
    await store.markDropped(dropped!)
    expect((await store.pending()).map((item) => item.message)).toEqual([{ text: 'still waiting' }])
    expect(await store.messageIdOf('alert:2')).toBeUndefined()
    await store.close()
  })
})
