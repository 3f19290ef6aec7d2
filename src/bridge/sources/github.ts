/**
 * GitHub's repository and organization webhooks: each event becomes a line or
 * two beginning with the repository (`[owner/repo] alice opened pull request
 * #12: ...`). Requests are signed (`X-Hub-Signature-256`); `X-GitHub-Delivery`
 * identifies a redelivery. Runs and check suites that have not completed are
 * not posted: they are noise next to their outcome.
 */
import { verify } from '@octokit/webhooks-methods'
import { z } from 'zod'
import type { Notification, WebhookSource } from '../source.ts'
import { check, clip, decodeUtf8, firstLine, parseJson, problem, type Checked } from './payload.ts'

/** A handled event's message, before the repository is put in front; null: nothing worth posting. */
interface Formatted { lines: string[], severity?: string }
type Format = (payload: unknown, who: string, repoUrl: string | undefined) => Checked<Formatted | null>

const login = z.looseObject({ login: z.string() })
const common = z.looseObject({
  action: z.string().optional(),
  repository: z.looseObject({ full_name: z.string(), html_url: z.string().optional() }).nullish(),
  organization: login.nullish(),
  sender: login.nullish()
})

export function githubSource (): WebhookSource {
  return {
    kind: 'github',
    auth: 'signature',
    contentTypes: ['application/json', 'application/x-www-form-urlencoded'],
    verify: async (request, secret) => {
      const signature = request.headers['x-hub-signature-256']
      if (signature === undefined || signature === '' || secret === '' || request.body.length === 0) return false
      let text: string
      try {
        // The signature is over the bytes: keep a BOM, refuse what would not decode back to them.
        text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(request.body)
      } catch {
        return false
      }
      try {
        return await verify(secret, text, signature)
      } catch {
        return false
      }
    },
    parse: (request) => {
      const event = request.headers['x-github-event']?.trim()
      if (event === undefined || event === '') return problem('X-GitHub-Event', 'header is missing: it names the event')
      if (!/^[a-z_]{1,64}$/.test(event)) return problem('X-GitHub-Event', `header is not an event name: ${JSON.stringify(clip(event, 64))}`)
      const json = readBody(request.body, request.contentType)
      if (!json.ok) return json
      const base = check(common, json.value)
      if (!base.ok) return base
      const { action, repository, organization, sender } = base.value
      const scope = repository?.full_name ?? organization?.login ?? sender?.login ?? 'GitHub'
      const who = sender?.login ?? 'someone'
      const format = FORMATS.get(event)
      const formatted = format === undefined
        ? { ok: true as const, value: { lines: [`${event}${action === undefined || action === '' ? '' : ` ${action}`} by ${who}`] } }
        : format(json.value, who, repository?.html_url)
      if (!formatted.ok) return formatted
      const delivery = request.headers['x-github-delivery']
      const deliveryId = delivery !== undefined && /^[\x21-\x7e]{1,200}$/.test(delivery) ? delivery : undefined
      if (formatted.value === null) return { ok: true, notifications: [], deliveryId }
      const [first = '', ...rest] = formatted.value.lines
      const headline = `[${scope}] ${first}`
      const notification: Notification = { text: [headline, ...rest].join('\n'), headline, severity: formatted.value.severity, alerts: [] }
      return { ok: true, notifications: [notification], deliveryId }
    }
  }
}

/** JSON, or a form whose `payload` field is the JSON (the webhook's other content type). */
function readBody (body: Buffer, contentType: string): Checked<unknown> {
  const text = decodeUtf8(body)
  if (!text.ok) return text
  if (contentType !== 'application/x-www-form-urlencoded') return parseJson(text.value)
  const payload = new URLSearchParams(text.value).get('payload')
  return payload === null ? { ok: false, problem: { field: 'payload', why: 'form field is missing: it holds the event' } } : parseJson(payload, 'payload')
}

/** A format for one event: its schema has just the fields the message uses. */
function event<S extends z.ZodType> (schema: S, format: (event: z.output<S>, who: string, repoUrl: string | undefined) => Formatted | null): Format {
  return (payload, who, repoUrl) => {
    const checked = check(schema, payload)
    return checked.ok ? { ok: true, value: format(checked.value, who, repoUrl) } : checked
  }
}

const title = (text: string): string => clip(text.replace(/\s+/g, ' ').trim(), 120)
const url = z.string()
const item = z.looseObject({ number: z.number().int(), title: z.string(), html_url: url })

/** How an action reads: `opened pull request #2`, `marked pull request #2 ready for review`. */
const PHRASES: Readonly<Record<string, (noun: string) => string>> = {
  ready_for_review: (noun) => `marked ${noun} ready for review`,
  converted_to_draft: (noun) => `converted ${noun} to draft`,
  review_requested: (noun) => `requested a review on ${noun}`,
  review_request_removed: (noun) => `removed a review request from ${noun}`,
  synchronize: (noun) => `pushed to ${noun}`,
  milestoned: (noun) => `added ${noun} to a milestone`,
  demilestoned: (noun) => `removed ${noun} from its milestone`,
  auto_merge_enabled: (noun) => `enabled auto-merge on ${noun}`,
  auto_merge_disabled: (noun) => `disabled auto-merge on ${noun}`,
  enqueued: (noun) => `added ${noun} to the merge queue`,
  dequeued: (noun) => `removed ${noun} from the merge queue`
}
const phrase = (action: string, noun: string): string => Object.hasOwn(PHRASES, action)
  ? (PHRASES[action] as (noun: string) => string)(noun)
  : `${action.replace(/_/g, ' ')} ${noun}`

const FAILED = new Set(['failure', 'timed_out', 'startup_failure'])

/** A completed run or suite (`what` names it, `where` says on what): failures stand out and are critical. */
function outcome (conclusion: string | null | undefined, what: string, where: string, passed: string): Formatted {
  if (conclusion !== null && conclusion !== undefined && FAILED.has(conclusion)) {
    const how = conclusion === 'timed_out' ? ' (timed out)' : conclusion === 'startup_failure' ? ' (did not start)' : ''
    return { lines: [`❌ FAILED${how}: ${what}${where}`], severity: 'critical' }
  }
  if (conclusion === 'success') return { lines: [`✅ ${what} ${passed}${where}`] }
  if (conclusion === 'cancelled') return { lines: [`⚪ ${what} was cancelled${where}`] }
  if (conclusion === 'action_required') return { lines: [`⚠️ ${what} needs action${where}`], severity: 'warning' }
  return { lines: [`${what} completed${conclusion === null || conclusion === undefined ? '' : ` (${conclusion.replace(/_/g, ' ')})`}${where}`] }
}

const FORMATS: ReadonlyMap<string, Format> = new Map(Object.entries({
  ping: event(z.looseObject({ zen: z.string().optional() }), (ping) => ({
    lines: [`GitHub webhook connected${ping.zen === undefined || ping.zen.trim() === '' ? '' : ` (${clip(ping.zen.trim(), 200)})`}`]
  })),

  push: event(z.looseObject({
    ref: z.string(),
    created: z.boolean().optional(),
    deleted: z.boolean().optional(),
    forced: z.boolean().optional(),
    compare: url.optional(),
    pusher: z.looseObject({ name: z.string() }).nullish(),
    commits: z.array(z.looseObject({ message: z.string() })).optional(),
    head_commit: z.looseObject({ message: z.string() }).nullish()
  }), (push, who) => {
    const pusher = push.pusher?.name ?? who
    const tag = push.ref.startsWith('refs/tags/')
    const name = push.ref.replace(/^refs\/(heads|tags)\//, '')
    const kind = tag ? 'tag' : push.ref.startsWith('refs/heads/') ? 'branch' : 'ref'
    const link = push.compare === undefined || push.compare === '' ? [] : [push.compare]
    if (push.deleted === true) return { lines: [`${pusher} deleted ${kind} ${name}`] }
    if (tag) return { lines: [`${pusher} pushed tag ${name}`, ...link] }
    const count = push.commits?.length ?? 0
    const message = push.head_commit?.message ?? push.commits?.at(-1)?.message
    const commits = count === 0 ? '' : ` ${count} commit${count === 1 ? '' : 's'}`
    const what = push.created === true
      ? `created ${kind} ${name}${count === 0 ? '' : ` with${commits}`}`
      : `${push.forced === true ? 'force-pushed' : 'pushed'}${commits} to ${name}`
    const summary = count === 0 || message === undefined || firstLine(message) === '' ? '' : `: ${firstLine(message, 120)}${count > 1 ? ` (and ${count - 1} more)` : ''}`
    return { lines: [`${pusher} ${what}${summary}`, ...link] }
  }),

  pull_request: event(z.looseObject({
    action: z.string(),
    pull_request: item.extend({ merged: z.boolean().nullish(), draft: z.boolean().optional() })
  }), ({ action, pull_request: pr }, who) => {
    const noun = `${action === 'opened' && pr.draft === true ? 'draft ' : ''}pull request #${pr.number}`
    const verb = action === 'closed' && pr.merged === true ? `merged ${noun}` : phrase(action, noun)
    return { lines: [`${who} ${verb}: ${title(pr.title)}`, pr.html_url] }
  }),

  issues: event(z.looseObject({ action: z.string(), issue: item }), ({ action, issue }, who) => ({
    lines: [`${who} ${phrase(action, `issue #${issue.number}`)}: ${title(issue.title)}`, issue.html_url]
  })),

  issue_comment: event(z.looseObject({
    action: z.string(),
    issue: item.extend({ pull_request: z.unknown().optional() }),
    comment: z.looseObject({ body: z.string(), html_url: url })
  }), ({ action, issue, comment }, who) => {
    const noun = `${issue.pull_request === undefined || issue.pull_request === null ? 'issue' : 'pull request'} #${issue.number} (${title(issue.title)})`
    if (action === 'deleted') return { lines: [`${who} deleted a comment on ${noun}`, issue.html_url] }
    const quote = firstLine(comment.body, 200)
    const verb = action === 'created' ? `commented on ${noun}` : action === 'edited' ? `edited a comment on ${noun}` : phrase(action, `a comment on ${noun}`)
    return { lines: [`${who} ${verb}${quote === '' ? '' : `: “${quote}”`}`, comment.html_url] }
  }),

  release: event(z.looseObject({
    action: z.string(),
    release: z.looseObject({ tag_name: z.string(), name: z.string().nullish(), html_url: url, prerelease: z.boolean().optional() })
  }), ({ action, release }, who) => {
    const noun = `${release.prerelease === true ? 'pre-release' : 'release'} ${release.tag_name}`
    const verb = action === 'released' ? `released ${release.tag_name}` : action === 'prereleased' ? `published pre-release ${release.tag_name}` : phrase(action, noun)
    const name = release.name?.trim()
    return { lines: [`${who} ${verb}${name === undefined || name === '' || name === release.tag_name ? '' : `: ${title(name)}`}`, release.html_url] }
  }),

  workflow_run: event(z.looseObject({
    action: z.string(),
    workflow: z.looseObject({ name: z.string() }).nullish(),
    workflow_run: z.looseObject({
      name: z.string().nullish(),
      display_title: z.string().optional(),
      conclusion: z.string().nullish(),
      head_branch: z.string().nullish(),
      event: z.string().optional(),
      run_number: z.number().int().optional(),
      html_url: url
    })
  }), ({ action, workflow, workflow_run: run }) => {
    if (action !== 'completed') return null
    const name = run.name !== undefined && run.name !== null && run.name !== '' ? run.name : workflow?.name ?? 'workflow'
    const where = [run.head_branch === null || run.head_branch === undefined ? '' : ` on ${run.head_branch}`,
      run.run_number === undefined ? '' : ` (run #${run.run_number}${run.event === undefined ? '' : `, ${run.event}`})`].join('')
    const result = outcome(run.conclusion, title(name), where, 'succeeded')
    const display = run.display_title === undefined ? '' : firstLine(run.display_title, 120)
    return { ...result, lines: [`${result.lines[0] ?? ''}${display === '' ? '' : `: ${display}`}`, run.html_url] }
  }),

  check_suite: event(z.looseObject({
    action: z.string(),
    check_suite: z.looseObject({
      conclusion: z.string().nullish(),
      head_branch: z.string().nullish(),
      head_sha: z.string(),
      app: z.looseObject({ name: z.string() }).nullish()
    })
  }), ({ action, check_suite: suite }, _who, repoUrl) => {
    if (action !== 'completed') return null
    const where = `${suite.head_branch === null || suite.head_branch === undefined ? '' : ` on ${suite.head_branch}`} (${suite.head_sha.slice(0, 7)})`
    const result = outcome(suite.conclusion, `checks${suite.app === null || suite.app === undefined ? '' : ` by ${title(suite.app.name)}`}`, where, 'passed')
    return { ...result, lines: [...result.lines, ...(repoUrl === undefined ? [] : [`${repoUrl}/commit/${suite.head_sha}`])] }
  })
}))
