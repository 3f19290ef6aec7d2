/**
 * Ports that survive restarts. A listen address with port 0 asks the system
 * for a port; the first time it does, the port it got is remembered in the
 * state database, and later starts ask for that same port again. A contact
 * link printed yesterday names those ports, and two peers that both
 * restarted find each other where they were. Only when the remembered port
 * is taken by something else does the peer take a new one, and says so.
 */
import { createServer } from 'node:net'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from './logger.ts'

/** Listen address as configured (port 0) → the port it was given. */
export type RememberedPorts = Record<string, number>

interface TcpListen { host: string, port: number, family: 4 | 6, ws: boolean }

/** The TCP listening part of an address (`/ip4/<host>/tcp/<port>`, optionally `/ws`), if it is one. */
function tcpListen (address: Multiaddr): TcpListen | undefined {
  // An address given out ends with the peer id: not part of where it listens.
  const components = address.getComponents().filter((c) => c.name !== 'p2p')
  const [ip, tcp, ...rest] = components
  if (ip === undefined || tcp === undefined || tcp.name !== 'tcp' || (ip.name !== 'ip4' && ip.name !== 'ip6')) return undefined
  if (rest.length > 1 || (rest.length === 1 && rest[0]?.name !== 'ws')) return undefined
  return { host: ip.value ?? '', port: Number(tcp.value), family: ip.name === 'ip4' ? 4 : 6, ws: rest.length === 1 }
}

/** Whether a TCP port can be bound on `host` now. */
async function isFree (host: string, port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => { resolve(false) })
    server.listen({ host, port, exclusive: true }, () => { server.close(() => { resolve(true) }) })
  })
}

/** `listen` with each port 0 replaced by the port remembered for that address, where that port is free. */
export async function withRememberedPorts (listen: string[], remembered: RememberedPorts, logger: Logger): Promise<string[]> {
  return await Promise.all(listen.map(async (address) => {
    const port = remembered[address]
    const parsed = tcpListen(multiaddr(address))
    if (port === undefined || parsed === undefined || parsed.port !== 0) return address
    if (await isFree(parsed.host, port)) return address.replace('/tcp/0', `/tcp/${port}`)
    logger.warn({ address, port }, 'the port this peer listened on before is taken: listening on a new one (links given out before name the old one)')
    return address
  }))
}

/**
 * The ports the system chose for the listen addresses with port 0, read from
 * the addresses listened on: for each, the first unused one of the same kind
 * (TCP or WebSocket, IPv4 or IPv6) on the same host (any host for a wildcard).
 */
export function chosenPorts (listen: string[], listening: Multiaddr[]): RememberedPorts {
  const actual = listening.flatMap((address) => { const parsed = tcpListen(address); return parsed === undefined ? [] : [parsed] })
  const used = new Set<TcpListen>()
  const ports: RememberedPorts = {}
  for (const address of listen) {
    const wanted = tcpListen(multiaddr(address))
    if (wanted === undefined || wanted.port !== 0) continue
    const wildcard = wanted.host === '0.0.0.0' || wanted.host === '::'
    const match = actual.find((a) => !used.has(a) && a.ws === wanted.ws && a.family === wanted.family && (wildcard || a.host === wanted.host))
    if (match === undefined) continue
    // A wildcard listens on every interface with one port: the other interfaces' addresses are the same socket.
    for (const a of actual) if (a.port === match.port && a.ws === match.ws) used.add(a)
    ports[address] = match.port
  }
  return ports
}
