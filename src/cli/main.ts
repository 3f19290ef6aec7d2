#!/usr/bin/env node
/**
 * The `bertybot` command. It speaks to the peer only through
 * `bertybot/protocol`, as a bot or any other client does.
 */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import packageJson from '../../package.json' with { type: 'json' }
import { BertybotError, createLogger, createPeer, loggerOptionsFromEnv } from '../protocol/index.ts'

const USAGE = `Usage: bertybot <command> [options]

Commands:
  id            Print this peer's account id and where it listens, then exit.
  help          Show this help.

Options:
  --data <dir>  Data directory (keys, groups, logs). Default: $BERTYBOT_DATA, else ./.bertybot
  -h, --help    Show help for a command.
  -v, --version Print the version.

Environment:
  BERTYBOT_DATA        Data directory, when --data is not given.
  BERTYBOT_LOG_LEVEL   fatal, error, warn, info (default), debug, trace or silent.
  BERTYBOT_LOG_FORMAT  pretty (default) or json.
`

const COMMAND_HELP: Record<string, string> = {
  id: `Usage: bertybot id [--data <dir>]

Prints the account id of the peer whose data directory is <dir> (creating
the account if the directory is new), and the addresses it listened on.
`
}

export class UsageError extends BertybotError {
  constructor (message: string) {
    super('ERR_USAGE', message)
  }
}

async function main (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      data: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' }
    }
  })
  if (values.version === true) {
    process.stdout.write(`${packageJson.version}\n`)
    return 0
  }
  const [command, ...rest] = positionals
  if (command === undefined || command === 'help') {
    process.stdout.write(command === 'help' && rest[0] !== undefined && COMMAND_HELP[rest[0]] !== undefined ? COMMAND_HELP[rest[0]] as string : USAGE)
    return 0
  }
  if (COMMAND_HELP[command] === undefined) throw new UsageError(`unknown command "${command}". Run "bertybot --help" for the list.`)
  if (values.help === true) {
    process.stdout.write(COMMAND_HELP[command] as string)
    return 0
  }
  if (rest.length > 0) throw new UsageError(`"bertybot ${command}" takes no arguments (got "${rest.join(' ')}")`)

  const dataDir = resolve(values.data ?? process.env.BERTYBOT_DATA ?? '.bertybot')
  const logger = createLogger({ level: 'warn', ...loggerOptionsFromEnv() })
  const peer = await createPeer({ dataDir, logger })
  try {
    process.stdout.write(`account ${peer.accountId}\n`)
    for (const address of peer.multiaddrs) process.stdout.write(`listening ${address}\n`)
  } finally {
    await peer.stop()
  }
  return 0
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (err: unknown) => {
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`bertybot: ${message}\n`)
  process.exitCode = err instanceof UsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? 2 : 1
})
