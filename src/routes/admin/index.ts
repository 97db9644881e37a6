import multipart from '@fastify/multipart'
import type { FastifyPluginAsync } from 'fastify'
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import { bodyDeadline } from '../../http/body-deadline.js'
import { byteLimit, tooLarge } from '../../http/byte-limit.js'
import adminPlugin from '../../plugins/admin.js'
import catalogRecordsPlugin from '../../plugins/catalog-records.js'
import downloadReportsPlugin from '../../plugins/download-reports.js'
import licenseRegistryPlugin from '../../plugins/license-registry.js'
import messageDeskPlugin from '../../plugins/message-desk.js'
import insightPlugin from '../../plugins/insight.js'
import analyticsRoutes from './analytics.js'
import auditRoutes from './audit.js'
import downloadRoutes from './downloads.js'
import licenseRoutes from './licenses.js'
import messageRoutes from './messages.js'
import pcidRoutes from './pcids.js'
import programRoutes from './programs.js'
import { identifyCaller, sessionCookies, sessionRoutes } from './session.js'
import tokenRoutes from './tokens.js'
import transferRoutes from './transfers.js'
import updateRoutes from './updates.js'
import versionRoutes from './versions.js'
import webhookRoutes from './webhooks.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The name of the admin token that made this request. */
    adminName: string
  }
}

/**
 * The admin REST API under /api/v1: JSON, bearer tokens, every change audited.
 * docs/admin-api.md and the OpenAPI document at /docs describe it. The services it calls
 * are registered here: nothing else uses them.
 */
const adminRoutes: FastifyPluginAsync = async (fastify) => {
  fastify.setValidatorCompiler(validatorCompiler)
  fastify.setSerializerCompiler(serializerCompiler)
  fastify.decorateRequest('adminName', '')
  for (const services of [adminPlugin, catalogRecordsPlugin, licenseRegistryPlugin, downloadReportsPlugin, messageDeskPlugin, insightPlugin, sessionCookies]) await fastify.register(services)
  await fastify.register(multipart, {
    preservePath: true,
    limits: { fileSize: fastify.config.UPLOAD_MAX_BYTES, files: 10_000, fields: 100, fieldSize: 1024 * 1024, parts: 10_100 }
  })
  // CSV imports arrive as text, read as a stream by the import (src/license/import.ts): a
  // million lines are never held whole, and no more than UPLOAD_MAX_BYTES are read.
  const csvLimit = fastify.config.UPLOAD_MAX_BYTES
  fastify.addContentTypeParser(['text/csv', 'text/plain'], (request, payload, done) => {
    if (Number(request.headers['content-length'] ?? 0) > csvLimit) {
      done(tooLarge(csvLimit, 'The CSV file'))
      return
    }
    const limited = byteLimit(csvLimit, 'The CSV file')
    // The import reads the body only once its transaction has begun: until then a failure
    // (the limit, a client gone) is kept by the stream and met by the import's first read.
    limited.on('error', () => {})
    payload.on('error', (err) => limited.destroy(err))
    done(null, payload.pipe(limited))
  })

  const { BODY_TIMEOUT_SECONDS, UPLOAD_TIMEOUT_SECONDS } = fastify.config
  fastify.addHook('onRequest', async (request) => {
    // Files and CSV imports may be large: they have their own, longer limit.
    const type = request.headers['content-type'] ?? ''
    bodyDeadline(request, (/^(multipart\/form-data|text\/csv|text\/plain)\b/i.test(type) ? UPLOAD_TIMEOUT_SECONDS : BODY_TIMEOUT_SECONDS) * 1000)
  })

  // Signing in to the web console is the one admin route without a caller yet.
  await fastify.register(sessionRoutes)
  await fastify.register(async function authenticated (api) {
    api.addHook('onRequest', async (request) => { request.adminName = await identifyCaller(api, request) })
    for (const routes of [programRoutes, versionRoutes, updateRoutes, licenseRoutes, pcidRoutes, transferRoutes, downloadRoutes, auditRoutes, messageRoutes, analyticsRoutes, webhookRoutes, tokenRoutes]) await api.register(routes)
  })
}

export default adminRoutes
