import multipart from '@fastify/multipart'
import type { FastifyPluginAsync } from 'fastify'
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import { identify } from '../../admin/bearer-tokens.js'
import { ApiError } from '../../errors.js'
import auditRoutes from './audit.js'
import downloadRoutes from './downloads.js'
import licenseRoutes from './licenses.js'
import messageRoutes from './messages.js'
import pcidRoutes from './pcids.js'
import programRoutes from './programs.js'
import updateRoutes from './updates.js'
import versionRoutes from './versions.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The name of the admin token that made this request. */
    adminName: string
  }
}

/**
 * The admin REST API under /api/v1: JSON, bearer tokens, every change audited.
 * docs/admin-api.md and the OpenAPI document at /docs describe it.
 */
const adminRoutes: FastifyPluginAsync = async (fastify) => {
  fastify.setValidatorCompiler(validatorCompiler)
  fastify.setSerializerCompiler(serializerCompiler)
  fastify.decorateRequest('adminName', '')
  await fastify.register(multipart, {
    preservePath: true,
    limits: { fileSize: fastify.config.UPLOAD_MAX_BYTES, files: 10_000, fields: 100, fieldSize: 1024 * 1024, parts: 10_100 }
  })
  // CSV imports arrive as text.
  fastify.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string', bodyLimit: 10 * 1024 * 1024 }, (_request, body, done) => { done(null, body) })

  fastify.addHook('onRequest', async (request) => {
    const caller = await identify(fastify.prisma, request.headers.authorization, fastify.config.ADMIN_TOKEN)
    if (!caller.ok) throw new ApiError(caller.status, caller.status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN', caller.reason)
    request.adminName = caller.name
  })

  await fastify.register(programRoutes)
  await fastify.register(versionRoutes)
  await fastify.register(updateRoutes)
  await fastify.register(licenseRoutes)
  await fastify.register(pcidRoutes)
  await fastify.register(downloadRoutes)
  await fastify.register(auditRoutes)
  await fastify.register(messageRoutes)
}

export default adminRoutes
