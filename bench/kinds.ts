/**
 * The cost of a reaction and of an edit next to a text message, for the
 * `messaging` section of `npm run bench`: two peers in a group; the first
 * sends, in turn, a text, a reaction to its first message and an edit of it,
 * one at a time; one-way latency from `send()` to the receiver's event for
 * each (p50, p95). Interleaved on the same peers, so that the three see the
 * same machine.
 */
import { createLogger, createPeer, type Group, type Peer } from 'bertybot/protocol'
import { arrivals, percentile, removeDirs, tempDir, TEXT } from './shared.ts'

export type Kind = 'text' | 'reaction' | 'edit'
export const KINDS: Kind[] = ['text', 'reaction', 'edit']

export interface KindFigures { p50: number, p95: number }

export async function kindLatencies (samples: number, warmup: number): Promise<Record<Kind, KindFigures>> {
  const dirs = [await tempDir(), await tempDir()]
  const logger = createLogger({ level: 'warn' })
  const peers: Peer[] = []
  try {
    const a = await createPeer({ dataDir: dirs[0] as string, logger })
    peers.push(a)
    const b = await createPeer({ dataDir: dirs[1] as string, logger })
    peers.push(b)
    const joined = new Promise<void>((resolve) => { a.on('memberJoined', () => { resolve() }) })
    const group: Group = await a.createGroup({ name: 'bench' })
    await b.joinGroup(group.invitation())
    await joined
    const { arrived, received } = arrivals()
    b.on('message', (e) => { arrived(e.id) })
    b.on('reaction', (e) => { arrived(e.id) })
    b.on('messageEdited', (e) => { arrived(e.id) })
    const target = await group.send({ text: TEXT })
    await received(target)
    const send: Record<Kind, () => Promise<string>> = {
      text: async () => await group.send({ text: TEXT }),
      reaction: async () => await group.send({ kind: 'reaction', target, emoji: '👍' }),
      edit: async () => await group.send({ kind: 'edit', target, text: TEXT })
    }
    const latencies: Record<Kind, number[]> = { text: [], reaction: [], edit: [] }
    for (let i = 0; i < warmup + samples; i++) {
      for (const kind of KINDS) {
        const start = performance.now()
        await received(await send[kind]())
        if (i >= warmup) latencies[kind].push(performance.now() - start)
      }
    }
    const figures = (values: number[]): KindFigures => {
      const sorted = [...values].sort((x, y) => x - y)
      return { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95) }
    }
    return { text: figures(latencies.text), reaction: figures(latencies.reaction), edit: figures(latencies.edit) }
  } finally {
    await Promise.all(peers.map(async (peer) => { await peer.stop() }))
    await removeDirs(dirs)
  }
}
