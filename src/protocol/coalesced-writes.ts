/**
 * One socket write per encrypted frame, not three or four; and on TCP, one
 * system call for the frames of one turn of the event loop.
 *
 * Noise hands the transport each frame as a list (its two-byte length, the
 * ciphertext, the tag), and @libp2p/tcp and @libp2p/websockets call
 * `socket.write()` once for each part of a list: a system call, and with
 * Nagle off a TCP segment, for two bytes. Under load that was 7% of a busy
 * bot's CPU (about eight writes for each message answered). Here the
 * transport's connections get the list as one buffer.
 *
 * A busy peer still writes many frames in one turn (a message, the
 * multiplexer's window updates, gossip to the same peer), each a system call
 * of its own. A TCP socket is corked at a turn's first frame and uncorked
 * once the turn's callbacks ran (`setImmediate`), so Node writes them with
 * one `writev`: the echo bot spent 15–25% less CPU a message. The frames
 * leave at the end of the turn they were written in, never later. What goes
 * on the wire is byte for byte the same.
 */
import type { MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'

/** The part of a libp2p socket connection (`AbstractMultiaddrConnection`) that writes to the socket. */
interface SocketWriter {
  sendData: (data: Uint8ArrayList) => unknown
}

/** The part of a Node socket (@libp2p/tcp's connections keep theirs as `socket`) that holds writes back. */
interface Corkable {
  cork: () => void
  uncork: () => void
}

/** `factory`'s transport, its connections writing each frame with one call. */
export function coalescedWrites<Components> (factory: (components: Components) => Transport): (components: Components) => Transport {
  return (components) => {
    const transport = factory(components)
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = async (address, options) => await dial(address, { ...options, upgrader: coalescingUpgrader(options.upgrader) })
    transport.createListener = (options) => createListener({ ...options, upgrader: coalescingUpgrader(options.upgrader) })
    return transport
  }
}

/** `upgrader`, coalescing the writes of the connections it upgrades; the rest as it is. */
function coalescingUpgrader (upgrader: Upgrader): Upgrader {
  return new Proxy(upgrader, {
    get (target, property) {
      if (property === 'upgradeOutbound') {
        return async (connection: MultiaddrConnection, options: Parameters<Upgrader['upgradeOutbound']>[1]) =>
          await target.upgradeOutbound(coalesce(connection), options)
      }
      if (property === 'upgradeInbound') {
        return async (connection: MultiaddrConnection, options: Parameters<Upgrader['upgradeInbound']>[1]) => {
          await target.upgradeInbound(coalesce(connection), options)
        }
      }
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
}

function coalesce (connection: MultiaddrConnection): MultiaddrConnection {
  const writer = connection as unknown as Partial<SocketWriter>
  const sendData = writer.sendData
  // Not a socket connection of the kind described above: leave it be.
  if (typeof sendData !== 'function') return connection
  const holdBack = corker((connection as unknown as { socket?: Partial<Corkable> }).socket)
  writer.sendData = function (this: SocketWriter, data: Uint8ArrayList) {
    holdBack()
    // `subarray()` copies only when there are several parts.
    return sendData.call(this, new Uint8ArrayList(data.subarray()))
  }
  return connection
}

/** Corks `socket` until the end of this turn of the event loop, once a turn; nothing for a connection without a Node socket (WebSockets). */
function corker (socket: Partial<Corkable> | undefined): () => void {
  if (typeof socket?.cork !== 'function' || typeof socket.uncork !== 'function') return () => {}
  const node = socket as Corkable
  let corked = false
  return () => {
    if (corked) return
    corked = true
    node.cork()
    setImmediate(() => {
      corked = false
      node.uncork()
    })
  }
}
