import type { FastifyBaseLogger } from 'fastify'
import pino from 'pino'

/**
 * Whether `log` writes info lines. Hot paths ask before building what they would log:
 * pino drops a disabled line cheaply, but not the work of preparing its arguments.
 */
export function logsInfo (log: FastifyBaseLogger): boolean {
  return pino.levels.values[log.level] <= pino.levels.values.info
}
