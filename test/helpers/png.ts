/**
 * Small real PNG images for tests (RGB, 8 bits, one IDAT), drawn from a
 * function of (x, y): a browser decodes them, so a test can tell an image
 * was shown, and not only that bytes went by.
 */
import { crc32, deflateSync } from 'node:zlib'

function chunk (type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([length, body, crc])
}

export function png (width: number, height: number, color: (x: number, y: number) => [number, number, number]): Buffer {
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header.set([8, 2, 0, 0, 0], 8)
  const rows = Buffer.alloc(height * (1 + width * 3))
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 3)
    for (let x = 0; x < width; x++) rows.set(color(x, y), row + 1 + x * 3)
  }
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))])
}

/** A bar chart: four bars of four colours on white. */
export function chart (width: number, height: number): Buffer {
  const bars: Array<[number, [number, number, number]]> = [[0.45, [58, 109, 240]], [0.8, [48, 164, 108]], [0.6, [247, 144, 9]], [0.95, [229, 72, 77]]]
  return png(width, height, (x, y) => {
    const slot = Math.floor(x / (width / 4))
    const [share, color] = bars[Math.min(slot, 3)] as [number, [number, number, number]]
    const inBar = x % (width / 4) > width / 32 && x % (width / 4) < width / 4 - width / 32
    return inBar && y > height * (1 - share) ? color : [255, 255, 255]
  })
}
