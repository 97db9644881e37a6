import type { FastifyRequest } from 'fastify'

/**
 * A request's body must have arrived within `ms`, or its connection is closed: a client that
 * sends a form a byte at a time would otherwise hold a connection (and its memory) for as long
 * as it likes (Node's own `requestTimeout` would cut large uploads too, so each surface sets
 * its own limit). A request without a body is not timed.
 */
export function bodyDeadline (request: FastifyRequest, ms: number): void {
  const raw = request.raw
  const length = Number(raw.headers['content-length'] ?? 0)
  if (!(length > 0) && raw.headers['transfer-encoding'] === undefined) return
  const timer = setTimeout(() => {
    if (raw.complete) return
    request.log.info({ limitMs: ms }, 'request body too slow; connection closed')
    // Injected requests (light-my-request) have no real socket.
    if (typeof raw.socket?.destroy === 'function') raw.socket.destroy()
    else raw.destroy()
  }, ms)
  timer.unref()
  raw.once('end', () => clearTimeout(timer))
  raw.once('close', () => clearTimeout(timer))
}
