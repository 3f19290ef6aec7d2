import { createRequire } from 'node:module'
import type { WebhookDefinition } from '@octokit/webhooks-examples'
import { sign } from '@octokit/webhooks-methods'
import { describe, expect, it } from 'vitest'
import type { Notification, WebhookRequest } from '../../src/bridge/source.ts'
import { githubSource } from '../../src/bridge/sources/index.ts'

type Json = Record<string, any>

// GitHub's published example payloads (the package's main is a JSON file).
const definitions = createRequire(import.meta.url)('@octokit/webhooks-examples') as WebhookDefinition[]
function examples (event: string): Json[] {
  const found = definitions.find((definition) => definition.name === event)?.examples as Json[] | undefined
  if (found === undefined || found.length === 0) throw new Error(`no example of ${event}`)
  return found
}
const example = (event: string, action?: string): Json =>
  structuredClone(examples(event).find((payload) => action === undefined || payload.action === action) as Json)

const github = githubSource()
const route = { name: 'code' }

function request (event: string | undefined, payload: unknown, headers: Record<string, string> = {}): WebhookRequest {
  return {
    body: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
    contentType: 'application/json',
    headers: { ...(event === undefined ? {} : { 'x-github-event': event }), ...headers }
  }
}

function post (event: string, payload: unknown): Notification {
  const result = github.parse(request(event, payload), route)
  if (!result.ok) throw new Error(`refused: ${result.problem.field} ${result.problem.why}`)
  expect(result.notifications).toHaveLength(1)
  return result.notifications[0] as Notification
}

// Only runs and suites that have completed are worth a message.
const silent = (event: string, payload: Json): boolean => (event === 'workflow_run' || event === 'check_suite') && payload.action !== 'completed'

describe('github source: every published example', () => {
  const events = ['ping', 'push', 'pull_request', 'issues', 'issue_comment', 'release', 'workflow_run', 'check_suite', 'star', 'fork']
  for (const event of events) {
    it(`formats each ${event} example as a short message naming the repository`, () => {
      for (const payload of examples(event)) {
        const result = github.parse(request(event, payload), route)
        expect(result.ok, `${event} ${String(payload.action)}`).toBe(true)
        if (!result.ok) continue
        if (silent(event, payload)) {
          expect(result.notifications).toEqual([])
          continue
        }
        expect(result.notifications).toHaveLength(1)
        const [message] = result.notifications as [Notification]
        const scope = (payload.repository?.full_name ?? payload.organization?.login) as string
        expect(message.text.startsWith(`[${scope}] `), message.text).toBe(true)
        expect(message.headline).toBe(message.text.split('\n')[0])
        expect(message.headline.length).toBeGreaterThan(scope.length + 5)
        expect(message.text.split('\n').length).toBeLessThanOrEqual(2)
        expect(message.text).not.toMatch(/undefined|null|\[object|NaN/)
        expect(message.alerts).toEqual([])
      }
    })
  }
})

describe('github source: messages', () => {
  it('says the webhook is connected on ping, for a repository or an organization', () => {
    expect(post('ping', example('ping')).text).toBe('[Octocoders/Hello-World] GitHub webhook connected (Anything added dilutes everything else.)')
    const organization = examples('ping').find((payload) => payload.repository === undefined) as Json
    expect(post('ping', organization).text).toBe('[Octocoders] GitHub webhook connected (Anything added dilutes everything else.)')
  })

  it('tells pushes, new branches, tags and deletions apart', () => {
    const created = examples('push').find((payload) => payload.ref === 'refs/heads/master') as Json
    expect(post('push', created).text).toBe('[Codertocat/Hello-World] Codertocat created branch master with 1 commit: Initial commit\n' +
      'https://github.com/Codertocat/Hello-World/commit/6113728f27ae82c7b1a177c8d03f9e96e0adf246')
    const tag = examples('push').find((payload) => payload.ref === 'refs/tags/simple-tag' && payload.deleted === false) as Json
    expect(post('push', tag).text).toBe('[Codertocat/Hello-World] Codertocat pushed tag simple-tag\nhttps://github.com/Codertocat/Hello-World/compare/simple-tag')
    const deletedTag = examples('push').find((payload) => payload.deleted === true) as Json
    expect(post('push', deletedTag).text).toBe('[Codertocat/Hello-World] Codertocat deleted tag simple-tag')
    expect(post('push', { ...deletedTag, ref: 'refs/heads/feature/x' }).text).toBe('[Codertocat/Hello-World] Codertocat deleted branch feature/x')

    const commit = (message: string): Json => ({ ...created.head_commit, message })
    const pushed = {
      ...created,
      ref: 'refs/heads/main',
      created: false,
      forced: true,
      commits: [commit('First'), commit('Second'), commit('Fix the flaky test\n\nIt waited on a timer that never fired.')],
      head_commit: commit('Fix the flaky test\n\nIt waited on a timer that never fired.'),
      compare: 'https://github.com/Codertocat/Hello-World/compare/0d1a26e67d8f...6113728f27ae'
    }
    expect(post('push', pushed).text).toBe('[Codertocat/Hello-World] Codertocat force-pushed 3 commits to main: Fix the flaky test (and 2 more)\n' +
      'https://github.com/Codertocat/Hello-World/compare/0d1a26e67d8f...6113728f27ae')
  })

  it('says who did what to a pull request, and whether a closed one was merged', () => {
    const url = 'https://github.com/Codertocat/Hello-World/pull/2'
    expect(post('pull_request', example('pull_request', 'opened')).text)
      .toBe(`[Codertocat/Hello-World] Codertocat opened pull request #2: Update the README with new information.\n${url}`)
    const closed = example('pull_request', 'closed')
    expect(post('pull_request', closed).headline).toBe('[Codertocat/Hello-World] Codertocat closed pull request #2: Update the README with new information.')
    closed.pull_request.merged = true
    expect(post('pull_request', closed).headline).toBe('[Codertocat/Hello-World] Codertocat merged pull request #2: Update the README with new information.')
    expect(post('pull_request', example('pull_request', 'ready_for_review')).headline)
      .toBe('[Codertocat/Hello-World] Codertocat marked pull request #2 ready for review: Update the README with new information.')
  })

  it('quotes the first line of a comment, cut short', () => {
    expect(post('issue_comment', example('issue_comment', 'created')).text).toBe(
      '[Codertocat/Hello-World] Codertocat commented on issue #1 (Spelling error in the README file): “You are totally right! I\'ll get this fixed right away.”\n' +
      'https://github.com/Codertocat/Hello-World/issues/1#issuecomment-492700400')
    const long = example('issue_comment', 'created')
    long.comment.body = `\n  ${'word '.repeat(100)}\nsecond line`
    long.issue.pull_request = { url: 'https://api.github.com/repos/Codertocat/Hello-World/pulls/1' }
    const headline = post('issue_comment', long).headline
    expect(headline).toMatch(/^\[Codertocat\/Hello-World\] Codertocat commented on pull request #1 \(Spelling error in the README file\): “(word ){39}word…”$/)
    expect(headline).not.toContain('second line')
    expect(post('issues', example('issues', 'opened')).text)
      .toBe('[Codertocat/Hello-World] Codertocat opened issue #1: Spelling error in the README file\nhttps://github.com/Codertocat/Hello-World/issues/1')
  })

  it('announces releases', () => {
    const published = example('release', 'published')
    expect(post('release', published).text).toBe('[Codertocat/Hello-World] Codertocat published release 0.0.1\nhttps://github.com/Codertocat/Hello-World/releases/tag/0.0.1')
    published.release.name = 'First light'
    expect(post('release', published).headline).toBe('[Codertocat/Hello-World] Codertocat published release 0.0.1: First light')
  })

  it('makes a failed workflow run or check suite stand out', () => {
    const run = example('workflow_run', 'completed')
    const success = examples('workflow_run').find((payload) => payload.workflow_run.conclusion === 'success') as Json
    expect(post('workflow_run', success).text).toBe('[octo-org/octo-repo] ✅ test succeeded on master (run #163, repository_dispatch): ' +
      'ci(action): update actions/setup-node digest to 8c91899\nhttps://github.com/octo-org/octo-repo/actions/runs/289782451')
    expect(post('workflow_run', success).severity).toBeUndefined()
    const failed = structuredClone(success)
    failed.workflow_run.conclusion = 'failure'
    failed.workflow_run.name = 'CI'
    const failure = post('workflow_run', failed)
    expect(failure.headline).toBe('[octo-org/octo-repo] ❌ FAILED: CI on master (run #163, repository_dispatch): ci(action): update actions/setup-node digest to 8c91899')
    expect(failure.severity).toBe('critical')
    failed.workflow_run.conclusion = 'timed_out'
    expect(post('workflow_run', failed).headline).toMatch(/^\[octo-org\/octo-repo\] ❌ FAILED \(timed out\): CI on master/)
    run.action = 'in_progress'
    expect(github.parse(request('workflow_run', run), route)).toMatchObject({ ok: true, notifications: [] })

    const suite = example('check_suite', 'completed')
    expect(post('check_suite', suite).text).toBe('[Codertocat/Hello-World] ✅ checks by octocoders-linter passed on changes (ec26c3e)\n' +
      'https://github.com/Codertocat/Hello-World/commit/ec26c3e57ca3a959ca5aad62de7213c562f8c821')
    suite.check_suite.conclusion = 'failure'
    const failedSuite = post('check_suite', suite)
    expect(failedSuite.headline).toBe('[Codertocat/Hello-World] ❌ FAILED: checks by octocoders-linter on changes (ec26c3e)')
    expect(failedSuite.severity).toBe('critical')
  })

  it('gives other events one generic line', () => {
    expect(post('star', example('star', 'created')).text).toBe('[Codertocat/Hello-World] star created by Codertocat')
    expect(post('fork', examples('fork')[0]).text).toBe('[Codertocat/Hello-World] fork by Octocoders')
    // An event named like an Object.prototype member is just another event.
    expect(post('constructor', example('star')).text).toBe('[Codertocat/Hello-World] constructor created by Codertocat')
  })
})

describe('github source: requests', () => {
  const payload = example('issues', 'opened')

  it('takes the form-encoded content type, whose payload field holds the JSON', () => {
    const form = { ...request('issues', ''), body: Buffer.from(new URLSearchParams({ payload: JSON.stringify(payload) }).toString()), contentType: 'application/x-www-form-urlencoded' }
    const result = github.parse(form, route)
    expect(result.ok && result.notifications[0]?.text).toBe(post('issues', payload).text)
    expect(github.parse({ ...form, body: Buffer.from('other=1') }, route)).toEqual({ ok: false, problem: { field: 'payload', why: 'form field is missing: it holds the event' } })
    const broken = github.parse({ ...form, body: Buffer.from('payload=%7B') }, route)
    expect(broken.ok === false && broken.problem.field).toBe('payload')
  })

  it('passes on the delivery id, which tells a redelivery', () => {
    const result = github.parse(request('issues', payload, { 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' }), route)
    expect(result).toMatchObject({ ok: true, deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958' })
  })

  it('refuses a request without an event, or a payload missing what the message needs', () => {
    expect(github.parse(request(undefined, payload), route)).toEqual({ ok: false, problem: { field: 'X-GitHub-Event', why: 'header is missing: it names the event' } })
    expect(github.parse(request('Issues!', payload), route)).toMatchObject({ ok: false, problem: { field: 'X-GitHub-Event' } })
    const untitled = example('pull_request', 'opened')
    delete untitled.pull_request.title
    expect(github.parse(request('pull_request', untitled), route)).toEqual({ ok: false, problem: { field: 'pull_request.title', why: 'is missing (expected string)' } })
    const numbered = example('issues', 'opened')
    numbered.issue.number = '1'
    expect(github.parse(request('issues', numbered), route)).toEqual({ ok: false, problem: { field: 'issue.number', why: 'expected number, got string' } })
    const badRepository = { ...example('star'), repository: { full_name: 42 } }
    expect(github.parse(request('star', badRepository), route)).toMatchObject({ ok: false, problem: { field: 'repository.full_name' } })
    const notJson = github.parse(request('push', '{"ref": '), route)
    expect(notJson.ok === false && notJson.problem.field).toBe('body')
    expect(notJson.ok === false && notJson.problem.why).toMatch(/^is not valid JSON: /)
  })

  it('verifies the signature over the raw body, and never throws', async () => {
    const verify = github.verify
    if (verify === undefined) throw new Error('no verify')
    const body = JSON.stringify(payload)
    const signature = await sign('It\'s a Secret to Everybody', body)
    const signed = request('issues', body, { 'x-hub-signature-256': signature })
    expect(await verify(signed, 'It\'s a Secret to Everybody')).toBe(true)
    expect(await verify(signed, 'another secret')).toBe(false)
    expect(await verify(signed, '')).toBe(false)
    expect(await verify(request('issues', body), 'It\'s a Secret to Everybody')).toBe(false)
    expect(await verify(request('issues', body.replace('Spelling', 'Spelled'), { 'x-hub-signature-256': signature }), 'It\'s a Secret to Everybody')).toBe(false)
    expect(await verify(request('issues', body, { 'x-hub-signature-256': 'sha256=zz' }), 'It\'s a Secret to Everybody')).toBe(false)
    expect(await verify(request('issues', '', { 'x-hub-signature-256': signature }), 'It\'s a Secret to Everybody')).toBe(false)
    // Bytes that are not UTF-8 cannot be what GitHub signed.
    const invalid = { ...signed, body: Buffer.concat([signed.body, Buffer.from([0xff])]) }
    expect(await verify(invalid, 'It\'s a Secret to Everybody')).toBe(false)
    // GitHub's own test vector.
    const vector = request('ping', 'Hello, World!', { 'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17' })
    expect(await verify(vector, 'It\'s a Secret to Everybody')).toBe(true)
  })
})
