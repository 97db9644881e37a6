/**
 * Tells whether an error means "the database cannot be reached right now" (as opposed to a
 * bug or bad data), so that clients get ERROR=UNAVAILABLE with Retry-After and try again. A
 * burst that keeps every connection of the pool busy past its wait (pg-pool's "timeout
 * exceeded when trying to connect") is one too: the client comes back later.
 */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])
// Prisma: can't reach server, timed out, server closed the connection, pool timeout.
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024'])
// Postgres SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown).
const SQLSTATE = /^(08\d{3}|57P0[1-4]|53300)$/
const MESSAGES = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Can't reach database server|Timed out fetching a new connection|the database system is (shutting down|starting up|in recovery mode)|terminating connection due to administrator command|Client has encountered a connection error/i

export function isDatabaseUnavailable (err: unknown): boolean {
  const seen = new Set<unknown>()
  let current: unknown = err
  while (current !== null && typeof current === 'object' && !seen.has(current)) {
    seen.add(current)
    const e = current as { code?: unknown, originalCode?: unknown, kind?: unknown, message?: unknown, cause?: unknown, errors?: unknown }
    for (const code of [e.code, e.originalCode]) {
      if (typeof code === 'string' && (NETWORK_CODES.has(code) || PRISMA_CODES.has(code) || SQLSTATE.test(code))) return true
    }
    if (e.kind === 'DatabaseNotReachable' || e.kind === 'ConnectionClosed' || e.kind === 'SocketTimeout') return true
    if (typeof e.message === 'string' && MESSAGES.test(e.message)) return true
    if (Array.isArray(e.errors) && e.errors.some(isDatabaseUnavailable)) return true
    current = e.cause
  }
  return false
}
