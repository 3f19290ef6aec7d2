/**
 * The layout's import rules, checked with the tests (test/layout.test.ts):
 * protocol below framework below client, web and cli; bots and templates
 * only through the package's public entry points, as a user's bot; no
 * import circles anywhere.
 */
const PUBLIC_ENTRIES = '^src/(framework/index|protocol/index|bridge/index|framework/testing)[.]ts$'

/** The rule for src/<name>/: it may import its own files, src/types/, and the `index.ts` of each of `below`. */
function layer (name, below, comment = `src/${name}/ uses the layers below it through their entry points.`, ruleName = `${name}-sees-entries-below`) {
  const entries = below.length === 0 ? [] : [`^src/(${below.join('|')})/index[.]ts$`]
  return {
    name: ruleName,
    comment,
    severity: 'error',
    from: { path: `^src/${name}/` },
    to: { path: '^src/', pathNot: [`^src/(${name}|types)/`, ...entries] }
  }
}

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import circle ties its modules into one: none to read, test or change alone.',
      severity: 'error',
      from: {},
      to: { circular: true }
    },
    // Each folder of src/ sees itself and the entry points of the layers below it, nothing else.
    layer('protocol', [], 'The peer knows nothing of the bot framework or the clients above it.', 'protocol-is-the-bottom'),
    layer('framework', ['protocol'], 'The framework uses the peer through src/protocol/index.ts, and nothing above it.', 'framework-sees-the-protocol-entry-only'),
    layer('bridge', ['protocol', 'framework'], 'bertybot/bridge uses bertybot and bertybot/protocol as a user\'s plugin would: their entry points only.', 'bridge-is-a-plugin'),
    layer('client', ['protocol', 'framework']),
    layer('web', ['protocol', 'framework', 'client']),
    layer('cli', ['protocol', 'framework', 'bridge', 'client', 'web']),
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
