import fp from 'fastify-plugin'
import { ProgramRecords } from '../catalog/programs.js'
import { Rollouts } from '../catalog/rollouts.js'
import { VersionRecords } from '../catalog/versions.js'

declare module 'fastify' {
  interface FastifyInstance {
    programRecords: ProgramRecords
    versionRecords: VersionRecords
    rollouts: Rollouts
  }
}

/** Programs and versions as the vendor records and publishes them, and the release control job. */
export default fp(async function catalogRecordsPlugin (fastify) {
  const { prisma, repository, catalog, auditLog: audit, config, contacts, log } = fastify
  fastify.decorate('programRecords', new ProgramRecords(prisma, { catalog, repository, audit }))
  fastify.decorate('versionRecords', new VersionRecords(prisma, { catalog, repository, audit, maxBytes: config.UPLOAD_MAX_BYTES }))
  const rollouts = new Rollouts(prisma, {
    repository,
    catalog,
    audit,
    stallMs: config.DOWNLOAD_STALL_MINUTES * 60_000,
    intervalMs: config.ROLLOUT_JOB_INTERVAL_MS,
    flushContacts: async () => { await contacts.flush() },
    log
  })
  rollouts.start()
  fastify.decorate('rollouts', rollouts)
  fastify.addHook('onClose', async () => { await rollouts.stop() })
}, { name: 'catalog-records', dependencies: ['config', 'prisma', 'repository', 'services', 'admin'] })
