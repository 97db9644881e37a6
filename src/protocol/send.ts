import type { FastifyReply } from 'fastify'
import { logsInfo } from '../log-level.js'

/**
 * Sends a protocol body (already encoded bytes) in one write: `body` is the bytes, or a string
 * of one character per byte (text.ts byteString). Node writes a Buffer body and the headers
 * with two system calls (writev); as a latin1 string, which maps each byte to itself, headers
 * and body go out together. Replies to every poll of every client go through here, so the
 * saving counts. Headers set on the reply so far (Retry-After, Cache-Control) are kept.
 */
export function sendBytes (reply: FastifyReply, status: number, contentType: string, body: Buffer | string): FastifyReply {
  const headers = reply.getHeaders() as Record<string, string | number | string[]>
  headers['content-type'] = contentType
  headers['content-length'] = body.length
  return write(reply, status, headers, typeof body === 'string' ? body : body.toString('latin1'))
}

/**
 * A protocol success (200, not to be cached): `sendBytes` for the answers of the `f=`
 * functions, which set no headers of their own. Its headers are one object literal handed
 * to Node as is (its fast path), not merged from the reply's: a poll spares that copy.
 */
export function sendAnswer (reply: FastifyReply, contentType: string, body: string): FastifyReply {
  return write(reply, 200, { 'cache-control': 'no-store', 'content-type': contentType, 'content-length': body.length }, body)
}

function write (reply: FastifyReply, status: number, headers: Record<string, string | number | string[]>, body: string): FastifyReply {
  reply.hijack()
  reply.raw.writeHead(status, headers)
  reply.raw.end(body, 'latin1')
  if (logsInfo(reply.log)) reply.log.info({ res: { statusCode: status }, responseTime: reply.elapsedTime }, 'request completed')
  return reply
}
