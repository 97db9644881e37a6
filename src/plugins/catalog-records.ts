import fp from 'fastify-plugin'
import { ProgramRecords } from '../catalog/programs.js'
import { VersionRecords } from '../catalog/versions.js'

declare module 'fastify' {
  interface FastifyInstance {
    programRecords: ProgramRecords
    versionRecords: VersionRecords
  }
}

/** Programs and versions as the vendor records and publishes them. */
export default fp(async function catalogRecordsPlugin (fastify) {
  const { prisma, repository, catalog, auditLog: audit, config } = fastify
  fastify.decorate('programRecords', new ProgramRecords(prisma, { catalog, repository, audit }))
  fastify.decorate('versionRecords', new VersionRecords(prisma, { catalog, repository, audit, maxBytes: config.UPLOAD_MAX_BYTES }))
}, { name: 'catalog-records', dependencies: ['config', 'prisma', 'repository', 'services', 'admin'] })
