import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: {
    // Resolve `bertybot/...` to the TypeScript sources, as the repo's own scripts do.
    conditions: ['bertybot-source']
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Peers are real processes' worth of work: give each test file its own fork, a few at a time.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
