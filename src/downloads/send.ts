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
  const CHUNK = active <= LARGE_CHUNK_DOWNLOADS ? LARGE_CHUNK : SMALL_CHUNK
  // One read ahead: the next chunk is read from disk while the socket takes the current one.
  let ahead: Promise<Buffer> | undefined
  const read = async (position: number, length: number): Promise<Buffer> => {
    const buffer = Buffer.allocUnsafe(length)
    const { bytesRead } = await file.read(buffer, 0, length, position)
    if (bytesRead === 0) throw new Error('file shrank while being sent')
    return bytesRead === length ? buffer : buffer.subarray(0, bytesRead)
  }
  try {
    for (let i = 0; i < plan.ranges.length && !connection.closed; i++) {
      if (multipart && !(await write(res, partHeads[i]))) break
      const { start, end } = plan.ranges[i]
      let position = start
      let next = read(position, Math.min(CHUNK, end - position + 1))
      ahead = next
      while (position <= end && !connection.closed) {
        const chunk = await next
        ahead = undefined
        position += chunk.length
        if (position <= end) {
          next = read(position, Math.min(CHUNK, end - position + 1))
          ahead = next
        }
        const entry = sent[i]
        if (!(await write(res, chunk, () => { entry.bytes += chunk.length }))) break
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

/** Writes with backpressure; false when the connection is gone. */
async function write (res: ServerResponse, chunk: Buffer, onFlushed?: () => void): Promise<boolean> {
  if (res.destroyed) return false
  const flushedEarly = res.write(chunk, (err) => { if (err == null) onFlushed?.() })
  if (flushedEarly) return !res.destroyed
  return await new Promise<boolean>((resolve) => {
    const done = (ok: boolean): void => { res.off('drain', onDrain); res.off('close', onClose); resolve(ok) }
    const onDrain = (): void => done(true)
    const onClose = (): void => done(false)
    res.once('drain', onDrain)
    res.once('close', onClose)
  })
}
