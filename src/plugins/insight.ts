import fp from 'fastify-plugin'
import { filesReleasedAt } from '../catalog/catalog.js'
import { Analytics } from '../insight/analytics.js'

declare module 'fastify' {
  interface FastifyInstance {
    analytics: Analytics
  }
}

/** The analytics of the installed base (docs/analytics.md). */
export default fp(async function insightPlugin (fastify) {
  const { prisma, catalog, repository } = fastify
  fastify.decorate('analytics', new Analytics(prisma, (program, version) => {
    const recorded = catalog.version(program, version)?.releasedAt
    if (recorded !== undefined) return recorded
    const folder = repository.version(program, version)
    return folder === undefined ? undefined : filesReleasedAt(folder)
  }))
}, { name: 'insight', dependencies: ['prisma', 'services', 'repository'] })
