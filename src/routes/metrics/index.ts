import type { FastifyPluginAsync } from 'fastify'
import { timingSafeEqual } from 'node:crypto'
import { hashToken } from '../../admin/bearer-tokens.js'
import { ApiError } from '../../errors.js'

/** GET /metrics in Prometheus' text format, behind `Authorization: Bearer <METRICS_TOKEN>` when that is set. */
const metricsRoutes: FastifyPluginAsync = async (fastify) => {
  const { metrics } = fastify
  const { METRICS_TOKEN } = fastify.config
  const expected = METRICS_TOKEN === undefined ? undefined : Buffer.from(hashToken(METRICS_TOKEN), 'hex')

  fastify.get('/metrics', async (request, reply) => {
    if (expected !== undefined) {
      const given = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1]
      // Digests of equal length, compared in constant time.
      if (given === undefined || !timingSafeEqual(Buffer.from(hashToken(given), 'hex'), expected)) {
        throw new ApiError(401, 'UNAUTHORIZED', 'An Authorization: Bearer <METRICS_TOKEN> header is required.')
      }
    }
    return await reply.type(metrics.contentType).send(await metrics.text())
  })
}

export default metricsRoutes
