import type { ServerResponse } from 'node:http'
import type { FastifyReply } from 'fastify'

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
  return write(reply, 200, answerHeaders(contentType, body), body)
}

/** A protocol success written on the raw response, as `sendAnswer` writes it: the polls' fast path (routes/iupdate/fast-path.ts). */
export function writeAnswer (res: ServerResponse, contentType: string, body: string): void {
  res.writeHead(200, answerHeaders(contentType, body))
  res.end(body, 'latin1')
}

function answerHeaders (contentType: string, body: string): Record<string, string | number> {
  return { 'cache-control': 'no-store', 'content-type': contentType, 'content-length': body.length }
}

function write (reply: FastifyReply, status: number, headers: Record<string, string | number | string[]>, body: string): FastifyReply {
  reply.hijack()
  reply.raw.writeHead(status, headers)
  reply.raw.end(body, 'latin1')
  // Its `request completed` line is Fastify's: it listens for the end of every response, hijacked or not.
  return reply
}
