/**
 * Ports that survive restarts (listen-ports.ts): kept in the data directory,
 * taken again at the next start, and given up only when something else holds them.
 */
import { createServer, type Server } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { chosenPorts } from '../src/protocol/listen-ports.ts'
import { startPeer } from './helpers/peers.ts'
import { tempDir } from './helpers/temp.ts'

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map(async (server) => await new Promise((resolve) => server.close(resolve))))
})

const tcpPort = (addresses: string[]): number => Number(/\/tcp\/(\d+)\/p2p\//.exec(addresses.find((a) => !a.includes('/ws/')) ?? '')?.[1])

describe('listening ports', () => {
  it('listens on the ports of its first start at every later one', async () => {
    const dataDir = await tempDir('ports')
    const first = await startPeer({ dataDir })
    const addresses = first.peer.multiaddrs
    await first.peer.stop()
    const second = await startPeer({ dataDir })
    expect(second.peer.multiaddrs).toEqual(addresses)
    await second.peer.stop()
  })

  it('takes a new port, and warns, when its old one is held by something else', async () => {
    const dataDir = await tempDir('ports')
    const first = await startPeer({ dataDir })
    const port = tcpPort(first.peer.multiaddrs)
    await first.peer.stop()
    const squatter = createServer()
    servers.push(squatter)
    await new Promise<void>((resolve) => squatter.listen({ host: '127.0.0.1', port }, resolve))

    const second = await startPeer({ dataDir })
    expect(tcpPort(second.peer.multiaddrs)).not.toBe(port)
    expect(second.log.find((line) => line.level === 40 && /port this peer listened on before is taken/.test(line.msg))).toHaveLength(1)
    await second.peer.stop()
  })

  it('reads the chosen ports back from what it listens on, a wildcard address included', () => {
    const listening = ['/ip4/127.0.0.1/tcp/4001', '/ip4/10.0.0.2/tcp/4001', '/ip4/127.0.0.1/tcp/4002/ws', '/ip6/::1/tcp/4003'].map((a) => multiaddr(`${a}/p2p/12D3KooWQgWe1Z3A8qP8Gax9BRdAt6Gd8Y22YZKSrk7iJQMVgW2L`))
    expect(chosenPorts(['/ip4/0.0.0.0/tcp/0', '/ip4/127.0.0.1/tcp/0/ws', '/ip6/::1/tcp/0', '/ip4/127.0.0.1/tcp/5000'], listening)).toEqual({
      '/ip4/0.0.0.0/tcp/0': 4001,
      '/ip4/127.0.0.1/tcp/0/ws': 4002,
      '/ip6/::1/tcp/0': 4003
    })
  })
})
