#!/usr/bin/env node
/**
 * The `bertybot` command. It speaks to the peer only through
 * `bertybot/protocol`, as any other client does; `bridge` is a bot, made
 * with the framework like any other.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { resolve } from 'node:path'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import QRCode from 'qrcode'
import packageJson from '../../package.json' with { type: 'json' }
import { BertybotError, createLogger, createPeer, createReplica, loggerOptionsFromEnv, type Logger } from '../protocol/index.ts'
import { BRIDGE_HELP, runBridge } from './bridge.ts'
import { ChatClient } from '../client/index.ts'
import { runChat } from './chat.ts'
import { runWeb } from './web.ts'
import { createProject, NewProjectError, nextSteps } from './new.ts'

const ENVIRONMENT = `Environment:
  BERTYBOT_DATA        Data directory, when --data is not given.
  BERTYBOT_LOG_LEVEL   fatal, error, warn, info, debug, trace or silent.
  BERTYBOT_LOG_FORMAT  pretty (default) or json. Logs go to stderr.
`

const USAGE = `Usage: bertybot <command> [options]

Commands:
  chat          Talk to people and bots from the terminal.
  web           Talk to people and bots in your browser (served on 127.0.0.1).
  replica       Keep groups' encrypted logs for members who are offline.
  bridge        Post webhooks (Alertmanager, Grafana, GitHub, any) into groups.
  id            Print this peer's contact link, then exit.
  new <dir>     Create a bot project (code, tests, .env.example, Dockerfile).
  help [cmd]    Show help, for a command too.

Options:
  -h, --help    Show help for a command.
  -v, --version Print the version.

${ENVIRONMENT}`

const PEER_OPTIONS = `  --data <dir>         Data directory (keys, contacts, groups, logs). Default: $BERTYBOT_DATA, else ./.bertybot
  --listen <multiaddr> Where to listen; repeatable. Default: 127.0.0.1 on ports chosen at the first start, kept
  --announce <addr>    An address to give others instead (behind NAT, in a container); repeatable
  --bootstrap <addr>   A peer to connect to at start (multiaddr with /p2p/); repeatable`

/** For the commands that keep running; off by default, as it announces the peer to everyone on the local network. */
const MDNS_OPTION = `  --mdns               Find peers on the local network with mDNS and be found by them (it
                       announces this peer there). Off by default. Peers on other machines
                       need a --listen address they can reach (e.g. /ip4/0.0.0.0/tcp/0)`

const COMMANDS: Record<string, { help: string, options: ParseArgsConfig['options'] }> = {
  chat: {
    help: `Usage: bertybot chat [--name <name>] [--qr] [options]

An interactive client: shows your contact link, then reads commands and
messages. /help inside lists the commands: /add <link>, /accept, /contacts,
/groups, /new <name>, /invite, /join <invitation>, /open <name>, /reply <n>,
/history [n]... Messages are kept on disk (the same history as "bertybot web").
Any other line goes to the open conversation, and so does a /command the
client does not have (a bot's /subscribe, /roll 6); //help sends /help.
Ctrl-C or Ctrl-D leaves.

Options:
  --name <name>        The name others see (kept for next time)
  --qr                 Also print the contact link as a QR code (/link --qr later)
${PEER_OPTIONS}
${MDNS_OPTION}

${ENVIRONMENT}`,
    options: { name: { type: 'string' }, qr: { type: 'boolean' }, mdns: { type: 'boolean' } }
  },
  web: {
    help: `Usage: bertybot web [--name <name>] [--port <n>] [--open] [options]
Runs your peer, as "bertybot chat" does, and serves a chat client for the
browser on 127.0.0.1 only: conversations with their history, contact
requests, groups, replies, a bot's commands offered as you type /. It prints
the link to open, which carries an access key: anyone with the link can use
your account from this machine, so keep it to yourself. The port and the key
are kept in the data directory, so the link stays the same after a restart.
Stop it with Ctrl-C.
Options:
  --name <name>        The name others see (kept for next time)
  --port <n>           The port to serve on. Default: the one of the last start, else one the system chooses
  --open               Also open the link in the default browser
${PEER_OPTIONS}
${MDNS_OPTION}
${ENVIRONMENT}`,
    options: { name: { type: 'string' }, port: { type: 'string' }, open: { type: 'boolean' }, mdns: { type: 'boolean' } }
  },
  replica: {
    help: `Usage: bertybot replica [options]

Runs a replica until stopped (Ctrl-C, SIGTERM). It prints its link: a member
gives it to a group (/replica <link> in the chat, group.addReplica(link) in
code), and the replica then keeps that group's encrypted logs, which it can
verify and serve but not read. Give it a fixed, reachable --listen address.

Options:
${PEER_OPTIONS.replace('./.bertybot', './.bertybot-replica')}
${MDNS_OPTION}

${ENVIRONMENT}`,
    options: { mdns: { type: 'boolean' } }
  },
  bridge: {
    help: BRIDGE_HELP,
    options: { admin: { type: 'string', multiple: true }, mdns: { type: 'boolean' } }
  },
  id: {
    help: `Usage: bertybot id [--qr] [options]

Prints the contact link of the peer whose data directory is <dir> (creating
the account if the directory is new). Its addresses are those it listened on
while printing; the link also works through rendezvous.

Options:
  --qr                 Also print the link as a QR code
${PEER_OPTIONS}

${ENVIRONMENT}`,
    options: { qr: { type: 'boolean' } }
  },
  new: {
    help: `Usage: bertybot new <dir> [--name <bot name>] [--from <package dir or .tgz>]

Creates a ready-to-run bot project in <dir> (a new or empty directory): the
bot (bot.ts: contacts, groups, a welcome, a /roll command), its tests, a
.env.example listing every setting, a Dockerfile, a README and a .gitignore.
The project carries the bertybot it depends on, as a tarball in its vendor/
directory (npm pack of this installation, or of --from): it installs with no
registry copy of bertybot, and its Docker image builds from its directory.
Then:

  cd <dir> && npm install && npm test
  npm start

Options:
  --name <bot name>    The name people see. Default: the directory's name
  --from <path>        The bertybot to carry: a checkout or installed package
                       (packed with npm pack), or a tarball npm pack made
`,
    options: { name: { type: 'string' }, from: { type: 'string' } }
  }
}

export class UsageError extends BertybotError {
  constructor (message: string) {
    super('ERR_USAGE', message)
  }
}

function parse (argv: string[], command: string | undefined, extra: ParseArgsConfig['options'] = {}): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        data: { type: 'string' },
        listen: { type: 'string', multiple: true },
        announce: { type: 'string', multiple: true },
        bootstrap: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        ...extra
      }
    })
  } catch (err) {
    throw new UsageError(parseErrorMessage(err as Error & { code?: string }, command))
  }
}

/** Node's parser speaks of positionals and `--`; say what is wrong with the command line instead. */
function parseErrorMessage (err: Error & { code?: string }, command: string | undefined): string {
  const help = command === undefined ? 'bertybot --help' : `bertybot ${command} --help`
  const option = /'(-[^' ]+)/.exec(err.message)?.[1]
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option ?? ''}${command === undefined ? '' : ` for "bertybot ${command}"`}. "${help}" lists the options.`
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return /argument missing/.test(err.message)
      ? `${option ?? 'an option'} needs a value. "${help}" describes it.`
      : `${option ?? 'an option'} takes no value. "${help}" describes it.`
  }
  return `${err.message}. "${help}" lists the options.`
}

/** Every address option that is not a multiaddr, named with its value (all of them, not the first). */
function checkAddresses (values: Record<string, unknown>): void {
  const problems: string[] = []
  for (const option of ['listen', 'announce', 'bootstrap']) {
    for (const value of (values[option] as string[] | undefined) ?? []) {
      try {
        const address = multiaddr(value)
        if (option === 'bootstrap' && address.getComponents().every((c) => c.name !== 'p2p')) problems.push(`--bootstrap ${value}: needs a /p2p/<peer id> part`)
      } catch {
        problems.push(`--${option} ${value}: not a multiaddr (like /ip4/127.0.0.1/tcp/4001)`)
      }
    }
  }
  if (problems.length > 0) throw new UsageError(problems.join('; '))
}

function logger (defaultLevel: 'warn' | 'info'): Logger {
  return createLogger({ level: defaultLevel, ...loggerOptionsFromEnv() })
}

function peerOptions (values: Record<string, unknown>, defaultDir: string): { dataDir: string, listen?: string[], announce?: string[], bootstrap?: string[], mdns?: boolean } {
  return {
    dataDir: resolve((values.data as string | undefined) ?? process.env.BERTYBOT_DATA ?? defaultDir),
    ...(values.listen === undefined ? {} : { listen: values.listen as string[] }),
    ...(values.announce === undefined ? {} : { announce: values.announce as string[] }),
    ...(values.bootstrap === undefined ? {} : { bootstrap: values.bootstrap as string[] }),
    ...(values.mdns === true ? { mdns: true } : {})
  }
}

/** Resolves on the first of the signals that ask a long-running command to stop. */
async function stopSignal (): Promise<void> {
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => { resolve() })
    process.once('SIGTERM', () => { resolve() })
  })
}

async function main (argv: string[]): Promise<number> {
  const command = argv.find((a) => !a.startsWith('-'))
  const spec = command === undefined ? undefined : COMMANDS[command]
  const { values, positionals } = parse(argv, spec === undefined ? undefined : command, spec?.options)
  if (values.version === true) {
    process.stdout.write(`${packageJson.version}\n`)
    return 0
  }
  const [, ...rest] = positionals
  if (command === undefined || command === 'help') {
    const topic = rest[0] === undefined ? undefined : COMMANDS[rest[0]]
    process.stdout.write(topic?.help ?? USAGE)
    return 0
  }
  if (spec === undefined) throw new UsageError(`unknown command "${command}". Run "bertybot --help" for the list.`)
  if (values.help === true) {
    process.stdout.write(spec.help)
    return 0
  }
  if (command === 'new') {
    for (const option of ['data', 'listen', 'bootstrap']) {
      if (values[option] !== undefined) throw new UsageError(`"bertybot new" has no --${option} option (the project's .env sets it)`)
    }
    const [dir, ...extra] = rest
    if (dir === undefined || extra.length > 0) throw new UsageError('"bertybot new" takes one directory: bertybot new <dir> [--name <bot name>]')
    const name = values.name as string | undefined
    const from = values.from as string | undefined
    const project = await createProject({ dir, ...(name === undefined ? {} : { botName: name }), ...(from === undefined ? {} : { from }) })
    process.stdout.write(nextSteps(project))
    return 0
  }
  if (rest.length > 0) throw new UsageError(`"bertybot ${command}" takes no arguments (got "${rest.join(' ')}")`)

  if (command === 'bridge') {
    for (const option of ['announce', 'bootstrap']) {
      if (values[option] !== undefined) throw new UsageError(`"bertybot bridge" has no --${option} option (BERTYBOT_${option.toUpperCase()} sets it)`)
    }
    const listen = values.listen as string[] | undefined
    if (listen !== undefined && listen.length > 1) throw new UsageError('"bertybot bridge" listens on one address: --listen <host:port>')
    await runBridge({ dataDir: values.data as string | undefined, listen: listen?.[0], admins: (values.admin as string[] | undefined) ?? [], mdns: values.mdns === true })
    return 0
  }

  // The bridge's --listen is its HTTP address; these are the peer's.
  checkAddresses(values)

  if (command === 'id') {
    const peer = await createPeer({ ...peerOptions(values, '.bertybot'), logger: logger('warn') })
    try {
      const link = peer.contactLink()
      if (values.qr === true) process.stdout.write(await QRCode.toString(link, { type: 'terminal', small: true }))
      process.stdout.write(`${link}\n`)
    } finally {
      await peer.stop()
    }
    return 0
  }

  if (command === 'replica') {
    // Listen for the stop signals before anything is printed: whoever waits for the link may stop us at once.
    const stopped = stopSignal()
    const replica = await createReplica({ ...peerOptions(values, '.bertybot-replica'), logger: logger('info') })
    process.stdout.write(`replica ${replica.peerId}, keeping ${replica.groups().length} group(s)\n`)
    for (const address of replica.multiaddrs) process.stdout.write(`listening ${address}\n`)
    process.stdout.write(`link ${replica.link()}\n`)
    await stopped
    await replica.stop()
    return 0
  }

  const name = values.name as string | undefined
  if (command === 'web') {
    const port = values.port === undefined ? undefined : Number(values.port)
    if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65_535)) throw new UsageError(`--port ${String(values.port)}: not a port (1 to 65535)`)
    const stopped = stopSignal()
    const options = peerOptions(values, '.bertybot')
    const log = logger('info')
    // 'manual': a message counts as delivered once the client has written it into the history.
    const peer = await createPeer({ ...options, ...(name === undefined ? {} : { displayName: name }), delivery: 'manual', logger: log })
    try {
      await runWeb({ peer, dataDir: options.dataDir, port, open: values.open === true, logger: log, output: process.stdout, stopped })
    } finally {
      await peer.stop()
    }
    return 0
  }
  // chat
  // SIGTERM ends the session as Ctrl-D does (also while the peer is starting).
  process.once('SIGTERM', () => { process.stdin.destroy() })
  const options = peerOptions(values, '.bertybot')
  const log = logger('warn')
  // 'manual': a message counts as delivered once the client has written it into the history.
  const peer = await createPeer({ ...options, ...(name === undefined ? {} : { displayName: name }), delivery: 'manual', logger: log })
  try {
    const client = await ChatClient.open({ peer, dataDir: options.dataDir, logger: log })
    try {
      await runChat(client, peer, { input: process.stdin, output: process.stdout, terminal: process.stdout.isTTY === true && process.stdin.isTTY === true, qr: values.qr === true })
    } finally {
      await client.close()
    }
  } finally {
    await peer.stop()
  }
  return 0
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (err: unknown) => {
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`bertybot: ${message}\n`)
  process.exitCode = err instanceof UsageError || err instanceof NewProjectError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true ? 2 : 1
})
