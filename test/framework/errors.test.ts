/** Misuse of the framework gets a typed error with a code, not a plain Error. */
import { compose, createBot, LifecycleError, MiddlewareError, TransactionError } from 'bertybot'
import { EnvironmentError, loggerOptionsFromEnv } from 'bertybot/protocol'
import { describe, expect, it } from 'vitest'
import { BotStore } from '../../src/framework/store.ts'
import { tempDir } from '../helpers/temp.ts'

describe('typed errors', () => {
  it('for a middleware that calls next() twice', async () => {
    const chain = compose<object>([async (_ctx, next) => { await next(); await next() }])
    await expect(chain({}, async () => {})).rejects.toThrow(MiddlewareError)
    await expect(chain({}, async () => {})).rejects.toMatchObject({ code: 'ERR_MIDDLEWARE' })
  })

  it('for a transaction committed twice', async () => {
    const store = await BotStore.open(await tempDir('errors'))
    try {
      const tx = store.transaction()
      await tx.commit()
      await expect(tx.commit()).rejects.toThrow(TransactionError)
    } finally {
      await store.close()
    }
  })

  it('for a bad log variable, naming it', () => {
    expect(() => loggerOptionsFromEnv({ BERTYBOT_LOG_LEVEL: 'loud' })).toThrow(EnvironmentError)
    expect(() => loggerOptionsFromEnv({ BERTYBOT_LOG_FORMAT: 'xml' })).toThrow(expect.objectContaining({ variable: 'BERTYBOT_LOG_FORMAT', code: 'ERR_ENVIRONMENT' }))
  })

  it('for a bot started twice', async () => {
    const bot = await createBot({ dataDir: await tempDir('errors'), env: {}, listen: ['/ip4/127.0.0.1/tcp/0'], printLink: false, handleSignals: false })
    await bot.start()
    try {
      await expect(bot.start()).rejects.toThrow(LifecycleError)
    } finally {
      await bot.stop()
    }
  })
})
