/**
 * A connection flood from one address, for the flood section (`flood.ts`):
 * run as its own process (`node bench/flooder.ts <host> <port> <seconds> [from]`),
 * it opens TCP connections to the target (from the local address `from`, if
 * given) as fast as it can, with up to
 * CONCURRENCY of them outstanding, sends nothing on them (each holds one of
 * the target's pending upgrades until the target gives up on it), and prints
 * one line of JSON when the time is up: how many it opened, how many the
 * target closed within 100 ms (refused at once), how many it kept until the
 * target's upgrade timeout or the end, and the most held open at once.
 */
import { connect, type Socket } from 'node:net'

const [host = '127.0.0.1', portText = '0', secondsText = '10', from] = process.argv.slice(2)
const port = Number(portText)
const seconds = Number(secondsText)
if (!Number.isInteger(port) || port <= 0 || !(seconds > 0)) {
  process.stderr.write('usage: flooder <host> <port> <seconds> [from]\n')
  process.exit(2)
}

const CONCURRENCY = 256
/** Closed by the target this soon after connecting: refused, not upgraded. */
const REFUSED_MS = 100

const counts = { opened: 0, failed: 0, refused: 0, heldUntilClosed: 0, mostOpen: 0 }
const open = new Set<Socket>()
let outstanding = 0
let stopping = false

function one (): void {
  outstanding++
  const startedAt = performance.now()
  let connected = false
  const socket = connect({ host, port, ...(from === undefined ? {} : { localAddress: from }) })
  socket.setNoDelay(true)
  socket.on('connect', () => {
    connected = true
    counts.opened++
    open.add(socket)
    counts.mostOpen = Math.max(counts.mostOpen, open.size)
  })
  socket.on('data', () => {})
  socket.on('error', () => {})
  socket.on('close', () => {
    open.delete(socket)
    outstanding--
    if (!connected) counts.failed++
    else if (!stopping) {
      if (performance.now() - startedAt < REFUSED_MS) counts.refused++
      else counts.heldUntilClosed++
    }
    if (!stopping) one()
  })
}

const startedAt = performance.now()
for (let i = 0; i < CONCURRENCY; i++) one()
setTimeout(() => {
  stopping = true
  const elapsedS = (performance.now() - startedAt) / 1000
  const result = { ...counts, stillOpen: open.size, perSecond: counts.opened / elapsedS }
  for (const socket of open) socket.destroy()
  process.stdout.write(`${JSON.stringify(result)}\n`)
  // Sockets still connecting close on their own; the process ends once they have.
  const deadline = setTimeout(() => { process.exit(0) }, 5000)
  deadline.unref()
}, seconds * 1000)
