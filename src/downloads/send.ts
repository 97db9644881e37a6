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

// Per read; with backpressure at most two (one being written, one read ahead) are held per
// download, whatever the file size. Large reads cost fewer hand-offs to the thread pool and
// so go faster, but only a few downloads at a time get them: memory stays bounded however
// many clients download at once.
const LARGE_CHUNK = 1024 * 1024
const SMALL_CHUNK = 256 * 1024
const LARGE_CHUNK_DOWNLOADS = 8
let active = 0

/** A chunk read from the file: its bytes, at the start of a buffer of CHUNK bytes that is reused. */
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
  active++
  // Never larger than the largest range: a few bytes asked for get a buffer of a few bytes.
  const CHUNK = Math.min(active <= LARGE_CHUNK_DOWNLOADS ? LARGE_CHUNK : SMALL_CHUNK, Math.max(1, ...plan.ranges.map((r) => r.end - r.start + 1)))
  // One read ahead: the next chunk is read from disk while the socket takes the current one.
  // The chunks' buffers are reused once the socket is done with them (their write callback):
  // a new buffer per chunk would have the garbage collector run ever more often, the more
  // so the larger the heap of a busy server.
  let ahead: Promise<Chunk> | undefined
  const free: Buffer[] = []
  const read = async (position: number, length: number): Promise<Chunk> => {
    const buffer = free.pop() ?? Buffer.allocUnsafe(CHUNK)
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
      let next = read(position, Math.min(CHUNK, end - position + 1))
      ahead = next
      while (position <= end && !connection.closed) {
        const { buffer, bytes } = await next
        ahead = undefined
        position += bytes.length
        if (position <= end) {
          next = read(position, Math.min(CHUNK, end - position + 1))
          ahead = next
        }
        const entry = sent[i]
        const written = (ok: boolean): void => {
          if (ok) entry.bytes += bytes.length
          free.push(buffer)
        }
        if (!(await write(res, bytes, written))) break
      }
    }
    if (!connection.closed && multipart) await write(res, tail)
    if (!connection.closed) await new Promise<void>((resolve) => res.end(resolve))
  } catch (err) {
    res.destroy(err as Error)
  } finally {
    active--
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
