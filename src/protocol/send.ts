import type { FastifyReply } from 'fastify'

/**
 * Sends a protocol body (already encoded in its charset) with Fastify's own `reply.send`, so
 * that every hook (onSend, onResponse) sees it. Headers set on the reply before (Retry-After,
 * the rate limit's) are kept.
 */
export function sendProtocolBody (reply: FastifyReply, status: number, contentType: string, body: Buffer): FastifyReply {
  return reply.status(status).header('content-type', contentType).header('cache-control', 'no-store').send(body)
}
