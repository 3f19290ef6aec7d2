/**
 * The announcement bot as it runs in production: `bots/announce/index.ts` in
 * a process of its own, configured by its environment, its schedule file
 * reloaded on SIGHUP, stopped with SIGTERM. The admin is a real peer on the
 * same machine (127.0.0.1), in the test's process.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createTestNetwork, type TestNetwork, type TestUser } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { ask, botEnvironment, cleanUp, meetBot, startAnnounceProcess, AnnounceProcess } from './process-helpers.ts'

let network: TestNetwork | undefined
afterEach(async ({ task }) => {
  await cleanUp(task.result?.state === 'fail')
  await network?.stop()
  network = undefined
})

/** Asks again until the answer satisfies `predicate`: each round trip paces the next. */
async function askUntil (user: TestUser, command: string, what: string, predicate: (answer: string) => boolean, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const answer = await ask(user, command)
    if (predicate(answer)) return answer
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; "${command}" last answered:\n${answer}`)
  }
}

const FIRST = `# The schedule as first deployed.
timezone: UTC
announcements:
  - id: new-year
    cron: "0 9 1 1 *"
    text: Happy new year!
  - id: launch
    at: 2030-06-01T09:00
    text: We launch today.
    to: subscribers
`

/** A cron expression with an hour 99, on line 5; the valid entry after it must not be applied either. */
const BAD_CRON = `# A mistake in the second field.
timezone: UTC
announcements:
  - id: new-year
    cron: "0 99 1 1 *"
    text: Happy new year!
  - id: retro
    cron: "0 16 * * 5"
    text: Retro at four.
`

/** A YAML syntax error: the second item is indented one column too far, on line 7. */
const BAD_YAML = `# A list item out of line.
timezone: UTC
announcements:
  - id: new-year
    cron: "0 9 1 1 *"
    text: Happy new year!
   - id: retro
    cron: "0 16 * * 5"
    text: Retro at four.
`

const SECOND = `# The schedule, changed: a new text, a new entry, the launch gone.
timezone: UTC
announcements:
  - id: new-year
    cron: "0 9 1 1 *"
    text: Happy new year, everyone!
  - id: retro
    cron: "0 16 * * 5"
    text: Retro at four.
`

describe('the announcement bot in its own process', () => {
  it('loads its schedule file at start; on SIGHUP refuses a wrong one naming the line, keeping the schedule, and applies a right one', async () => {
    network = await createTestNetwork()
    const admin = await network.user('admin')
    const dir = await network.tempDir('announce-process')
    const file = join(dir, 'schedule.yaml')
    await writeFile(file, FIRST)
    const { bot, link } = await startAnnounceProcess({
      cwd: dir,
      env: botEnvironment(join(dir, 'data'), { ANNOUNCE_ADMINS: admin.peer.contactLink(), ANNOUNCE_SCHEDULE_FILE: file })
    })
    await meetBot(admin, link)

    const before = await ask(admin, '/announce list')
    expect(before.split('\n')).toEqual([
      expect.stringMatching(/^launch \(file\) · once at Sat 1 Jun 2030, 09:00 \(UTC\) · to subscribers · next Sat 1 Jun 2030, 09:00 \(UTC\)$/),
      '   We launch today.',
      expect.stringMatching(/^new-year \(file\) · "0 9 1 1 \*" UTC · to everyone · next \w{3} 1 Jan \d{4}, 09:00 \(UTC\)$/),
      '   Happy new year!'
    ])

    // Each wrong file is refused whole: the admin is told where, the log says where, nothing changes.
    const refusals = [
      { text: BAD_CRON, at: `${file}:5:11: announcements[0].cron: "0 99 1 1 *" is not a cron expression` },
      { text: BAD_YAML, at: `${file}:7:4: All sequence items must start at the same column` }
    ]
    for (const [index, refusal] of refusals.entries()) {
      await writeFile(file, refusal.text)
      bot.signal('SIGHUP')
      const told = await admin.nextReply({ timeoutMs: 60_000 })
      expect(told).toMatch(/^The schedule file is refused; the schedules in force are unchanged\.\n/)
      expect(told.split('\n')[1]).toContain(refusal.at)
      const logged = await bot.until('the refusal in the log', () => {
        const lines = bot.logLines().filter((l) => l.msg.startsWith('schedule file refused, the schedules in force are unchanged: '))
        return lines.length > index ? lines : undefined
      }, 30_000)
      expect(logged).toHaveLength(index + 1)
      expect(logged[index]?.msg).toContain(refusal.at)
      expect(await ask(admin, '/announce list')).toBe(before)
    }

    // A right file, on the next SIGHUP: the new entry comes in, the changed one changes, the one gone goes.
    await writeFile(file, SECOND)
    bot.signal('SIGHUP')
    const after = await askUntil(admin, '/announce list', 'the changed schedule file to be applied', (answer) => answer.includes('retro (file)'))
    expect(after.split('\n')).toEqual([
      expect.stringMatching(/^new-year \(file\) · "0 9 1 1 \*" UTC · to everyone · next \w{3} 1 Jan \d{4}, 09:00 \(UTC\)$/),
      '   Happy new year, everyone!',
      expect.stringMatching(/^retro \(file\) · "0 16 \* \* 5" UTC · to everyone · next \w{3} \d{1,2} \w{3} \d{4}, 16:00 \(UTC\)$/),
      '   Retro at four.'
    ])
    const log = (await ask(admin, '/announce log')).split('\n').map((line) => line.replace(/^.*? · /, ''))
    expect(log).toEqual(['schedule file · added new-year, launch', 'schedule file · added retro; changed new-year; removed launch'])
    // Nothing the bot logged was an error but the two refusals.
    expect(bot.logLines().filter((l) => l.level >= 50)).toHaveLength(2)
    expect(bot.exit).toBeUndefined()
  }, 180_000)

  const ANY_ACCOUNT = Buffer.alloc(32, 7).toString('base64url')
  const wrongConfigurations: Array<{ wrong: string, env: Record<string, string>, dotenv?: string, says: RegExp }> = [
    { wrong: 'ANNOUNCE_MISSED=sometimes', env: { ANNOUNCE_ADMINS: ANY_ACCOUNT, ANNOUNCE_MISSED: 'sometimes' }, says: /^The announcement bot cannot start: ANNOUNCE_MISSED: .*"send".*"skip"/ },
    { wrong: 'an empty ANNOUNCE_ADMINS', env: { ANNOUNCE_ADMINS: '' }, says: /^The announcement bot cannot start: ANNOUNCE_ADMINS: is required$/ },
    { wrong: 'ANNOUNCE_ADMINS naming nobody', env: { ANNOUNCE_ADMINS: `${ANY_ACCOUNT},bob` }, says: /^The announcement bot cannot start: ANNOUNCE_ADMINS: "bob" is neither a contact link nor an account id$/ },
    { wrong: 'BERTYBOT_CONCURRENCY=0', env: { ANNOUNCE_ADMINS: ANY_ACCOUNT, BERTYBOT_CONCURRENCY: '0' }, says: /^The announcement bot cannot start: BERTYBOT_CONCURRENCY: / },
    { wrong: 'ANNOUNCE_FEED_EVERY=10s in .env', env: { ANNOUNCE_ADMINS: ANY_ACCOUNT }, dotenv: 'ANNOUNCE_FEED_EVERY=10s\n', says: /^The announcement bot cannot start: ANNOUNCE_FEED_EVERY: / },
    { wrong: 'the bridge on with no HTTP address', env: { ANNOUNCE_ADMINS: ANY_ACCOUNT, ANNOUNCE_BRIDGE: 'on' }, says: /^The announcement bot cannot start: BERTYBOT_HTTP: / },
    { wrong: 'BRIDGE_ALERTMANAGER_URL not a URL', env: { ANNOUNCE_ADMINS: ANY_ACCOUNT, ANNOUNCE_BRIDGE: 'on', BRIDGE_ALERTMANAGER_URL: 'alertmanager:9093' }, says: /^The announcement bot cannot start: BRIDGE_ALERTMANAGER_URL: / }
  ]
  it.each(wrongConfigurations)('does not start with $wrong: exits with code 1, naming the variable', async ({ env, dotenv, says }) => {
    network = await createTestNetwork()
    const dir = await network.tempDir('announce-config')
    if (dotenv !== undefined) await writeFile(join(dir, '.env'), dotenv)
    const bot = new AnnounceProcess({ cwd: dir, env: botEnvironment(join(dir, 'data'), env) })
    const exit = await bot.exitWithin(60_000)
    expect(exit).toEqual({ code: 1, signal: null })
    expect(bot.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(says)])
    expect(bot.stdout).toBe('')
  }, 90_000)

  it('stops on SIGTERM: sends what it had queued, then its process exits with code 0', async () => {
    network = await createTestNetwork()
    const admin = await network.user('admin')
    const dir = await network.tempDir('announce-term')
    const { bot, link } = await startAnnounceProcess({ cwd: dir, env: botEnvironment(join(dir, 'data'), { ANNOUNCE_ADMINS: admin.peer.accountId }) })
    await meetBot(admin, link)
    expect(await ask(admin, '/subscribe')).toMatch(/^Subscribed/)

    // SIGTERM as soon as the announcement arrived: the answer, queued after it, may not have left yet.
    await admin.send('/announce now Closing time')
    await waitForMessage(admin, 'Closing time')
    bot.signal('SIGTERM')
    expect(await bot.exitWithin(30_000)).toEqual({ code: 0, signal: null })
    expect(await admin.nextReply({ timeoutMs: 30_000 })).toBe('Sent to 1 conversation.')
    expect(bot.logLines().filter((l) => l.level >= 50)).toEqual([])
  }, 120_000)
})

async function waitForMessage (user: TestUser, text: string): Promise<void> {
  const got = await user.nextReply({ timeoutMs: 60_000 })
  if (got !== text) throw new Error(`${user.name} expected "${text}", got "${got}"`)
}
