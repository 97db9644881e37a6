import { randomBytes } from 'node:crypto'
import { open } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import type { ByteRange } from './ranges.js'

/**
 * Writes a file (whole, one range, or several as multipart/byteranges) to a response,
 * always with Content-Length (never chunked), and reports what went out: the ranges
 * requested, and how far each got before the connection ended. Bytes count as sent when
 * their write callback fired, i.e. they were handed to the operating system.
 */
export interface SendPlan {
  path: string
  size: number
  status: 200 | 206
  /** Ranges to send, in order; one range covering the file for a 200. */
  ranges: ByteRange[]
  headers: Record<string, string>
  contentType: string
}

export interface SendResult {
  /** Per range: bytes of it handed to the OS (from its start). */
  sent: Array<{ range: ByteRange, bytes: number }>
  /** The whole response was flushed. */
  finished: boolean
}

/**
 * Memory per download stays small however many clients read slowly (BITS on an office line
 * reads for hours): a download reads SMALL_CHUNK at a time into one buffer, and writes the next
 * only once the socket has taken the last. A client that keeps up (the socket drains within
 * FAST_DRAIN_MS, FAST_AFTER times in a row) moves to LARGE_CHUNK reads with one read ahead, which
 * a fast download needs to keep up with sendfile; at most LARGE_SLOTS downloads at a time do,
 * so that memory stays bounded whatever the number of clients (docs/performance.md).
 */
const SMALL_CHUNK = 64 * 1024
const LARGE_CHUNK = 1024 * 1024
const LARGE_SLOTS = 8
const FAST_DRAIN_MS = 5
const FAST_AFTER = 4
let largeInUse = 0

/** A chunk read from the file: its bytes, at the start of a buffer that is reused. */
interface Chunk { buffer: Buffer, bytes: Buffer }

export async function sendFileRanges (res: ServerResponse, plan: SendPlan): Promise<SendResult> {
  const multipart = plan.ranges.length > 1
  const boundary = multipart ? randomBytes(12).toString('hex') : ''
  const partHeads = multipart
    ? plan.ranges.map((r, i) => Buffer.from(`${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${plan.contentType}\r\nContent-Range: bytes ${r.start}-${r.end}/${plan.size}\r\n\r\n`))
    : []
  const tail = multipart ? Buffer.from(`\r\n--${boundary}--\r\n`) : Buffer.alloc(0)
  const bodyLength = plan.ranges.reduce((sum, r) => sum + r.end - r.start + 1, 0) +
    partHeads.reduce((sum, h) => sum + h.length, 0) + tail.length

  const headers: Record<string, string | number> = { ...plan.headers, 'Content-Length': bodyLength }
  if (multipart) headers['Content-Type'] = `multipart/byteranges; boundary=${boundary}`
  else {
    headers['Content-Type'] = plan.contentType
    if (plan.status === 206) headers['Content-Range'] = `bytes ${plan.ranges[0].start}-${plan.ranges[0].end}/${plan.size}`
  }
  res.writeHead(plan.status, headers)

  const sent = plan.ranges.map((range) => ({ range, bytes: 0 }))
  const connection = { closed: false }
  res.once('close', () => { connection.closed = true })
  const file = await open(plan.path, 'r')
  // Never larger than the largest range: a few bytes asked for get a buffer of a few bytes.
  const largest = Math.max(1, ...plan.ranges.map((r) => r.end - r.start + 1))
  let large = false
  let quick = 0
  let chunkSize = Math.min(SMALL_CHUNK, largest)
  let free: Buffer[] = []
  let ahead: Promise<Chunk> | undefined
  const read = async (position: number, length: number): Promise<Chunk> => {
    const buffer = free.pop() ?? Buffer.allocUnsafe(chunkSize)
    const { bytesRead } = await file.read(buffer, 0, length, position)
    if (bytesRead === 0) throw new Error('file shrank while being sent')
    return { buffer, bytes: buffer.subarray(0, bytesRead) }
  }
  try {
    for (let i = 0; i < plan.ranges.length && !connection.closed; i++) {
      if (multipart && !(await write(res, partHeads[i]))) break
      const { start, end } = plan.ranges[i]
      if (start > end) continue // an empty file: nothing to read
      let position = start
      let next: Promise<Chunk> | undefined = read(position, Math.min(chunkSize, end - position + 1))
      ahead = next
      while (next !== undefined && !connection.closed) {
        const { buffer, bytes } = await next
        next = undefined
        ahead = undefined
        position += bytes.length
        // Fast downloads read the next chunk while the socket takes this one.
        if (large && position <= end) {
          next = read(position, Math.min(chunkSize, end - position + 1))
          ahead = next
        }
        const entry = sent[i]
        let handedOver!: (ok: boolean) => void
        const taken = new Promise<boolean>((resolve) => { handedOver = resolve })
        const written = (ok: boolean): void => {
          if (ok) entry.bytes += bytes.length
          if (buffer.length === chunkSize) free.push(buffer)
          handedOver(ok)
        }
        const began = performance.now()
        if (!(await write(res, bytes, written))) break
        // A slow download reads on only once the socket has taken the chunk: one buffer in all.
        if (!large && !(await taken)) break
        if (!large && largest > SMALL_CHUNK) {
          quick = performance.now() - began < FAST_DRAIN_MS ? quick + 1 : 0
          if (quick >= FAST_AFTER && largeInUse < LARGE_SLOTS) {
            largeInUse++
            large = true
            chunkSize = Math.min(LARGE_CHUNK, largest)
            free = []
          }
        }
        if (next === undefined && position <= end) {
          next = read(position, Math.min(chunkSize, end - position + 1))
          ahead = next
        }
      }
    }
    if (!connection.closed && multipart) await write(res, tail)
    if (!connection.closed) await new Promise<void>((resolve) => res.end(resolve))
  } catch (err) {
    res.destroy(err as Error)
  } finally {
    if (large) largeInUse--
    await ahead?.catch(() => {})
    await file.close()
  }
  if (!res.writableFinished) await new Promise<void>((resolve) => { if (connection.closed) resolve(); else res.once('close', () => resolve()) })
  return { sent, finished: res.writableFinished }
}

/**
 * Writes with backpressure; false when the connection is gone. `done` is called once the
 * socket no longer needs the chunk: ok when it was handed to the operating system.
 */
async function write (res: ServerResponse, chunk: Buffer, done?: (ok: boolean) => void): Promise<boolean> {
  if (res.destroyed) {
    done?.(false)
    return false
  }
  const flushedEarly = res.write(chunk, (err) => { done?.(err == null) })
  if (flushedEarly) return !res.destroyed
  return await new Promise<boolean>((resolve) => {
    const settle = (ok: boolean): void => { res.off('drain', onDrain); res.off('close', onClose); resolve(ok) }
    const onDrain = (): void => settle(true)
    const onClose = (): void => settle(false)
    res.once('drain', onDrain)
    res.once('close', onClose)
  })
}
