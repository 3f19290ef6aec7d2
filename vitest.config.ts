import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const source = (path: string): string => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  resolve: {
    // Bots and tests import the package by its name, as users do; Node resolves that to the
    // package itself, Vite does not: point the names at the TypeScript sources.
    alias: [
      { find: /^bertybot$/, replacement: source('./src/framework/index.ts') },
      { find: /^bertybot\/protocol$/, replacement: source('./src/protocol/index.ts') },
      { find: /^bertybot\/bridge$/, replacement: source('./src/bridge/index.ts') },
      { find: /^bertybot\/testing$/, replacement: source('./src/framework/testing.ts') }
    ],
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
