import type { FastifyPluginAsync } from 'fastify'
import { pendingOn, readMigrations } from '../../db/migrate.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Set by src/server.ts: why this process cannot recover by itself (its embedded Postgres
     * could not be restarted), else undefined. A supervisor restarts it on a failing /healthz.
     */
    unrecoverable?: () => string | undefined
  }
}

/** Liveness and readiness for orchestrators and load balancers. */
const healthRoutes: FastifyPluginAsync = async (fastify) => {
  const expected = (await readMigrations()).map((migration) => migration.name)

  fastify.get('/healthz', async (request, reply) => {
    const failure = fastify.unrecoverable?.()
    if (failure === undefined) return { status: 'ok' }
    return await reply.status(503).send({ status: 'failing', reason: failure })
  })

  fastify.get('/readyz', async (request, reply) => {
    try {
      const pending = await pendingOn(fastify.pg, expected)
      if (pending.length > 0) {
        return await reply.status(503).send({ status: 'unavailable', database: 'reachable', pendingMigrations: pending })
      }
      return { status: 'ready', database: 'reachable', migrations: expected.length }
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed')
      return await reply.status(503).header('retry-after', String(fastify.config.RETRY_AFTER_SECONDS))
        .send({ status: 'unavailable', database: 'unreachable' })
    }
  })
}

export default healthRoutes
