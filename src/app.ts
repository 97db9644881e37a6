import type { FastifyInstance, FastifyServerOptions, RawServerDefault } from 'fastify'
import type { Config } from './config.js'
import { RequestLogController, requestLogger } from './deferred-logger.js'
import { frontServerFactory } from './http-server.js'
import { requestIdGenerator } from './request-id.js'
import configPlugin from './plugins/config.js'
import errorsPlugin, { answerFrameworkError } from './plugins/errors.js'
import prismaPlugin from './db/prisma.js'
import repositoryPlugin from './plugins/repository.js'
import signerPlugin from './plugins/signer.js'
import servicesPlugin from './plugins/services.js'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { jsonSchemaTransform } from 'fastify-type-provider-zod'
import adminRoutes from './routes/admin/index.js'
import ftpRoutes from './routes/ftp/index.js'
import healthRoutes from './routes/health/index.js'
import iupdateRoutes from './routes/iupdate/index.js'
import wellKnownRoutes from './routes/wellknown/index.js'

export interface AppOptions {
  /** The parsed configuration, with DATABASE_URL resolved (server.ts starts the embedded database first). */
  config: Config & { DATABASE_URL: string }
}

/**
 * The whole application as a Fastify plugin. src/server.ts registers it and listens;
 * tests register it on an instance of their own.
 */
export default async function app (fastify: FastifyInstance, opts: AppOptions): Promise<void> {
  await fastify.register(configPlugin, { config: opts.config })
  await fastify.register(errorsPlugin)
  await fastify.register(prismaPlugin)
  await fastify.register(repositoryPlugin)
  await fastify.register(signerPlugin)
  await fastify.register(servicesPlugin)
  await fastify.register(swagger, {
    openapi: {
      info: { title: 'iupdate-server admin API', version: '1', description: 'Programs, versions, updates, licenses, seats, PCIDs and downloads. Authenticate with Authorization: Bearer <token>.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }]
    },
    transform: jsonSchemaTransform,
    // The OpenAPI document covers the admin API; the client protocol is docs/protocol.md.
    hideUntagged: true
  })
  await fastify.register(swaggerUi, { routePrefix: '/docs' })
  await fastify.register(healthRoutes)
  await fastify.register(iupdateRoutes)
  await fastify.register(wellKnownRoutes)
  await fastify.register(ftpRoutes)
  await fastify.register(adminRoutes)
}

// Download tokens travel in the query string (?t=): never log them.
const SECRET_QUERY = /([?&](?:t|token)=)[^&]*/gi

export function redactUrl (url: string): string {
  return url.replace(SECRET_QUERY, '$1[REDACTED]')
}

/** Server options shared by src/server.ts and the tests: logging, request ids, proxies. */
export function serverOptions (config: Config): FastifyServerOptions<RawServerDefault> {
  const genReqId = requestIdGenerator()
  return {
    logger: {
      level: config.LOG_LEVEL,
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'token', '*.token'],
        censor: '[REDACTED]'
      },
      serializers: {
        req (request: { method: string, url: string, ip?: string, headers?: Record<string, unknown> }) {
          return { method: request.method, url: redactUrl(request.url), remoteAddress: request.ip, userAgent: request.headers?.['user-agent'] }
        }
      }
    },
    childLoggerFactory: requestLogger,
    logController: new RequestLogController(),
    // genReqId reads X-Request-Id itself: Fastify would take any value given.
    requestIdHeader: false,
    genReqId,
    // Polls are answered before Fastify routes them when they can be (routes/iupdate/fast-path.ts).
    serverFactory: frontServerFactory(genReqId),
    trustProxy: config.TRUST_PROXY,
    frameworkErrors: answerFrameworkError,
    return503OnClosing: true,
    forceCloseConnections: 'idle'
  }
}
