import fp from 'fastify-plugin'
import { Metrics } from '../insight/metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

/**
 * Prometheus metrics (docs/operations.md, "Metrics"): registered before the routes, so that
 * its onResponse hook counts every request. The other parts are read when scraped.
 */
export default fp(async function metricsPlugin (fastify) {
  const metrics = new Metrics({
    pool: () => fastify.pg,
    repository: () => {
      const { repository } = fastify
      let files = 0
      for (const name of repository.programNames()) files += repository.program(name)?.files.size ?? 0
      return { files, scans: repository.generation }
    },
    licenseCache: () => fastify.licenses.lookups,
    rollouts: () => fastify.catalog.controlledVersions().map(({ program, version, control }) => ({ program, version, rollout: control.rollout, halted: control.haltedAt !== null }))
  })
  fastify.decorate('metrics', metrics)
  fastify.addHook('onResponse', async (request, reply) => {
    metrics.answered(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
  })
}, { name: 'metrics', dependencies: ['config'] })
