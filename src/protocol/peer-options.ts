/**
 * What a peer is made with (`createPeer`), checked at the edge with zod:
 * where it keeps its data, listens and is announced, whom it dials first,
 * its name, which of the network's optional parts it runs, and how large a
 * file it takes.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import type { Clock } from './clock.ts'
import { describeIssues } from './encoding.ts'
import { InvalidOptionError } from './errors.ts'
import type { DeliveryMode } from './events.ts'
import { DEFAULT_MAX_FILE_SIZE } from './file-reference.ts'
import type { Logger } from './logger.ts'
import type { DhtMode } from './node.ts'

/** Where a peer listens unless told otherwise: loopback only, ports chosen by the system. */
export const DEFAULT_LISTEN = ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws']

export interface PeerOptions {
  /** Where keys, groups and logs live. The same directory is the same account after a restart. */
  dataDir: string
  /** Multiaddrs to listen on; loopback by default. A port 0 is chosen by the system at the first start and kept in the data directory for the next ones. */
  listen?: string[]
  /** Multiaddrs others should dial, given in links instead of the listening ones (behind NAT, in a container). */
  announce?: string[]
  /** Peers to connect to at start (multiaddrs with a /p2p/ part). None by default: no public list. */
  bootstrap?: string[]
  /** The name members of your groups see. Kept in the data directory: a restart without it keeps the last one. */
  displayName?: string
  /** Circuit relay v2: `client` dials and listens through relays, `server` relays for others. */
  relay?: { client?: boolean, server?: boolean }
  /** Discover peers on the local network with mDNS. */
  mdns?: boolean
  /** Kademlia DHT: 'lan' (default), 'public', or 'off'. */
  dht?: DhtMode
  /** 'auto' (default): an event counts as delivered once its listeners ran. 'manual': once you call `markHandled()`. */
  delivery?: DeliveryMode
  logger?: Logger
  /** The clock messages are stamped with and rounds are timed on (a test's `ManualClock`). Default: the system's. */
  clock?: Clock
  /** The largest file stored or read, in bytes: 25 MiB by default. */
  maxFileSize?: number
  /**
   * Asked at start of each file stored, not yet committed, when the peer last
   * stopped (or crashed): true keeps it (something of yours that outlived the
   * stop refers to it, as a bot's outbox does), false deletes its blocks. By
   * default every one is deleted.
   */
  keepStagedFile?: (root: string) => boolean | Promise<boolean>
}

/** A string that parses as a multiaddr. */
export const multiaddrString = z.string().refine((s) => {
  try {
    multiaddr(s)
    return true
  } catch {
    return false
  }
}, { message: 'not a multiaddr' })

const optionsSchema = z.object({
  dataDir: z.string().min(1),
  listen: z.array(multiaddrString).default(DEFAULT_LISTEN),
  announce: z.array(multiaddrString).default([]),
  bootstrap: z.array(multiaddrString.refine((s) => s.includes('/p2p/'), { message: 'a bootstrap address needs a /p2p/<peer id> part' })).default([]),
  displayName: z.string().min(1).max(200).optional(),
  relay: z.object({ client: z.boolean().default(false), server: z.boolean().default(false) }).default({ client: false, server: false }),
  mdns: z.boolean().default(false),
  dht: z.enum(['lan', 'public', 'off']).default('lan'),
  delivery: z.enum(['auto', 'manual']).default('auto'),
  maxFileSize: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(DEFAULT_MAX_FILE_SIZE)
})

export type ParsedPeerOptions = z.infer<typeof optionsSchema>

/** The options with their defaults; throws `InvalidOptionError` naming what is wrong. */
export function parsePeerOptions (options: PeerOptions): ParsedPeerOptions {
  const parsed = optionsSchema.safeParse(options)
  if (!parsed.success) throw new InvalidOptionError(`invalid peer options: ${describeIssues(parsed.error)}`)
  return parsed.data
}
