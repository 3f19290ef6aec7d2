/**
 * The layout's import rules, checked with the tests (test/layout.test.ts):
 * protocol below framework below client, web and cli; bots and templates
 * only through the package's public entry points, as a user's bot; no
 * import circles anywhere.
 */
const PUBLIC_ENTRIES = '^src/(framework/index|protocol/index|bridge/index|framework/testing)[.]ts$'

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import circle ties its modules into one: none to read, test or change alone.',
      severity: 'error',
      from: {},
      to: { circular: true }
    },
    {
      name: 'protocol-is-the-bottom',
      comment: 'The peer knows nothing of the bot framework or the clients above it.',
      severity: 'error',
      from: { path: '^src/protocol/' },
      to: { path: '^src/', pathNot: '^src/(protocol|types)/' }
    },
    {
      name: 'framework-sees-the-protocol-entry-only',
      comment: 'The framework uses the peer through src/protocol/index.ts, and nothing above it.',
      severity: 'error',
      from: { path: '^src/framework/' },
      to: { path: '^src/', pathNot: ['^src/(framework|types)/', '^src/protocol/index[.]ts$'] }
    },
    {
      name: 'bridge-is-a-plugin',
      comment: 'bertybot/bridge uses bertybot and bertybot/protocol as a user\'s plugin would: their entry points only.',
      severity: 'error',
      from: { path: '^src/bridge/' },
      to: { path: '^src/', pathNot: ['^src/(bridge|types)/', '^src/(protocol|framework)/index[.]ts$'] }
    },
    {
      name: 'client-sees-entries-below',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { path: '^src/', pathNot: ['^src/(client|types)/', '^src/(protocol|framework)/index[.]ts$'] }
    },
    {
      name: 'web-sees-entries-below',
      severity: 'error',
      from: { path: '^src/web/' },
      to: { path: '^src/', pathNot: ['^src/(web|types)/', '^src/(protocol|framework|client)/index[.]ts$'] }
    },
    {
      name: 'cli-sees-entries-below',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/', pathNot: ['^src/(cli|types)/', '^src/(protocol|framework|bridge|client|web)/index[.]ts$'] }
    },
    {
      name: 'bots-and-templates-use-the-package',
      comment: 'A bot imports `bertybot` (and bertybot/protocol, bertybot/testing) by name, as a user\'s bot does.',
      severity: 'error',
      from: { path: '^(bots|templates)/' },
      to: { path: '^src/', pathNot: PUBLIC_ENTRIES }
    },
    {
      name: 'no-undeclared-dependency',
      comment: 'Every package imported is one package.json names (not one that happens to be installed).',
      severity: 'error',
      from: { path: '^(src|bots)/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] }
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true }
    }
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // ESM-only packages export an `import` condition only; bots reach `bertybot` through `bertybot-source`.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['bertybot-source', 'import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts']
    }
  }
}
