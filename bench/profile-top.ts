/**
 * The top entries of a V8 CPU profile (`BENCH_CPU_PROF=<dir>` writes one per
 * worker process): self time by function, and by package or source folder.
 *
 *   npm run profile-top -- <file.cpuprofile> [count]
 */
import { readFileSync } from 'node:fs'
import { z } from 'zod'

const callFrameSchema = z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() })
const profileSchema = z.object({
  nodes: z.array(z.object({ id: z.number(), callFrame: callFrameSchema })),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number())
})

const [file, countArg] = process.argv.slice(2)
if (file === undefined) {
  console.error('usage: npm run profile-top -- <file.cpuprofile> [count]')
  process.exit(2)
}
const count = Number(countArg ?? 30)
const profile = profileSchema.parse(JSON.parse(readFileSync(file, 'utf8')))

const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]))
const selfUs = new Map<number, number>()
profile.samples.forEach((id, i) => { selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)) })
const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0)

/** Where a frame's code lives: its npm package, a folder of ours, or node's internals. */
function placeOf (url: string): string {
  if (url === '') return '(native, idle or GC)'
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0]
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg !== null) return pkg[1] ?? url
  const ours = /\/(src\/[^/]+|bench)\//.exec(url)
  return ours?.[1] ?? url
}

function top (key: (frame: z.infer<typeof callFrameSchema>) => string): Array<[string, number]> {
  const sums = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const frame = frames.get(id)
    if (frame === undefined) continue
    const k = key(frame)
    sums.set(k, (sums.get(k) ?? 0) + us)
  }
  return [...sums].sort((a, b) => b[1] - a[1]).slice(0, count)
}

const pct = (us: number): string => `${(100 * us / totalUs).toFixed(1).padStart(5)}%`
console.log(`${file}: ${(totalUs / 1e6).toFixed(1)} s sampled`)
console.log('\nself time by function')
for (const [name, us] of top((f) => `${f.functionName === '' ? '(anonymous)' : f.functionName}  ${placeOf(f.url)}:${f.lineNumber + 1}`)) console.log(`${pct(us)}  ${name}`)
console.log('\nself time by package or folder')
for (const [name, us] of top((f) => placeOf(f.url))) console.log(`${pct(us)}  ${name}`)
