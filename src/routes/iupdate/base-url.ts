import type { FastifyRequest } from 'fastify'
import { ProtocolError } from '../../errors.js'

const HOST = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/

/** Base of the links we hand out: PUBLIC_URL, else the scheme and Host of the request. */
export function publicBase (request: Pick<FastifyRequest, 'host' | 'protocol'>, configured: string | undefined): string {
  if (configured !== undefined) return configured
  const host = request.host
  if (!HOST.test(host)) throw new ProtocolError('BAD_REQUEST', 'The Host header is not a host name.')
  return `${request.protocol}://${host}`
}
