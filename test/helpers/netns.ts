/**
 * A local network of its own for a test: two Linux network namespaces joined
 * by a veth pair, an address on each end (inside the namespaces only), a
 * multicast route on the veth (for mDNS) and no route anywhere else. A
 * process runs on one of its hosts with `ip netns exec` (the `netns` option
 * of PeerProcess and BotProcess).
 *
 * `remove()` kills whatever still runs in the namespaces and deletes them;
 * the test file's end does it for any left over, and namespaces left by a
 * test process that was killed before it could are removed by the next one.
 *
 * Making namespaces needs root and iproute2's `ip`. Without them the suite is
 * skipped with a loud warning, unless BERTYBOT_REQUIRE_NETNS=1 (CI), where
 * it fails.
 */
import { execFile, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, describe, it } from 'vitest'
import { warnSkipped } from './skipped.ts'

export const REQUIRE_ENV = 'BERTYBOT_REQUIRE_NETNS'
/** Our namespaces' names: the prefix, the test process's pid, a counter. */
const PREFIX = 'bbt-'
const OURS = /^bbt-(\d+)-/

export interface LanHost {
  /** The namespace the host is. */
  netns: string
  /** Its address on the veth. */
  address: string
}

export interface Lan {
  hosts: [LanHost, LanHost]
  /** Gives host `index` another address on its veth, and the other host a route to it (it exists nowhere else). */
  addAddress: (index: 0 | 1, address: string) => Promise<void>
  remove: () => Promise<void>
}

const made = new Set<Lan>()
let count = 0

async function ip (...args: string[]): Promise<string> {
  try {
    return (await promisify(execFile)('ip', args, { encoding: 'utf8' })).stdout
  } catch (err) {
    const { stderr } = err as { stderr?: string }
    throw new Error(`ip ${args.join(' ')} failed: ${(stderr ?? (err as Error).message).trim()}`)
  }
}

/** Why namespaces cannot be made here, or undefined when they can (tried for real). */
function netnsMissing (): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces are Linux\'s'
  if (process.getuid?.() !== 0) return 'making network namespaces needs root'
  if (spawnSync('ip', ['-V']).error !== undefined) return 'there is no `ip` command (Debian: apt-get install iproute2)'
  const probe = `${PREFIX}${process.pid}-probe`
  const added = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' })
  if (added.status !== 0) return `\`ip netns add\` failed: ${added.stderr.trim()}`
  spawnSync('ip', ['netns', 'del', probe])
  return undefined
}

/**
 * `describe(name, fn)` where namespaces can be made. Elsewhere, under
 * BERTYBOT_REQUIRE_NETNS=1 the suite is one failing test saying why;
 * otherwise it is skipped, with the boxed warning.
 */
export function describeWithNetns (name: string, fn: () => void): void {
  const missing = netnsMissing()
  if (missing === undefined) {
    describe(name, fn)
  } else if (process.env[REQUIRE_ENV] === '1') {
    describe(name, () => {
      it('can make network namespaces', () => { throw new Error(`${missing}; ${REQUIRE_ENV}=1 requires them for "${name}"`) })
    })
  } else {
    warnSkipped([
      'WARNING: TESTS SKIPPED, NOT PASSED',
      '',
      `Did not run: "${name}".`,
      'These tests need Linux network namespaces, and here',
      `${missing}.`,
      '',
      'Run them as root with iproute2 installed.',
      `CI sets ${REQUIRE_ENV}=1, which makes this a failure.`
    ])
    describe.skip(name, fn)
  }
}

/** Kills what still runs in the namespace, then deletes it. */
async function removeNetns (name: string): Promise<void> {
  const pids = await ip('netns', 'pids', name).catch(() => '')
  for (const pid of pids.split(/\s+/).filter((p) => p !== '')) {
    try {
      process.kill(Number(pid), 'SIGKILL')
    } catch {}
  }
  await ip('netns', 'del', name).catch(() => {})
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

/** Removes namespaces of ours whose test process is gone (killed before its clean-up ran). */
async function removeAbandoned (): Promise<void> {
  const names = (await ip('netns', 'list')).split('\n').map((line) => line.split(' ')[0] ?? '')
  for (const name of names) {
    const pid = OURS.exec(name)?.[1]
    if (pid !== undefined && !alive(Number(pid))) await removeNetns(name)
  }
}

/** Two hosts on a network of their own, 10.77.0.1 and 10.77.0.2 (addresses that exist only inside it). */
export async function createLan (): Promise<Lan> {
  await removeAbandoned()
  const id = `${process.pid}-${++count}`
  const hosts: [LanHost, LanHost] = [
    { netns: `${PREFIX}${id}a`, address: '10.77.0.1' },
    { netns: `${PREFIX}${id}b`, address: '10.77.0.2' }
  ]
  // Interface names are at most 15 characters: bbt + pid (7 digits at most) + counter + side.
  const veths = [`bbt${id}a`, `bbt${id}b`]
  const lan: Lan = {
    hosts,
    addAddress: async (index, address) => {
      const other = index === 0 ? 1 : 0
      await ip('-n', hosts[index].netns, 'address', 'add', `${address}/32`, 'dev', veths[index] as string)
      await ip('-n', hosts[other].netns, 'route', 'add', `${address}/32`, 'dev', veths[other] as string)
    },
    remove: async () => {
      made.delete(lan)
      for (const host of hosts) await removeNetns(host.netns)
    }
  }
  made.add(lan)
  try {
    for (const host of hosts) await ip('netns', 'add', host.netns)
    await ip('link', 'add', veths[0] as string, 'netns', hosts[0].netns, 'type', 'veth', 'peer', 'name', veths[1] as string, 'netns', hosts[1].netns)
    for (const [i, host] of hosts.entries()) {
      const veth = veths[i] as string
      await ip('-n', host.netns, 'address', 'add', `${host.address}/24`, 'dev', veth)
      await ip('-n', host.netns, 'link', 'set', 'lo', 'up')
      await ip('-n', host.netns, 'link', 'set', veth, 'up')
      // mDNS sends to 224.0.0.251; with no default route, this says where.
      await ip('-n', host.netns, 'route', 'add', '224.0.0.0/4', 'dev', veth)
    }
  } catch (err) {
    await lan.remove()
    throw err
  }
  return lan
}

afterAll(async () => {
  for (const lan of [...made]) await lan.remove()
})
