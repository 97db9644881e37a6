import type { FastifyInstance, FastifyServerOptions, RawRequestDefaultExpression, RawServerDefault } from 'fastify'
import type { Config } from './config.js'
import { randomUUID } from 'node:crypto'
import configPlugin from './plugins/config.js'
import errorsPlugin, { answerFrameworkError } from './plugins/errors.js'
import metricsPlugin from './plugins/metrics.js'
import prismaPlugin from './plugins/prisma.js'
import repositoryPlugin from './plugins/repository.js'
import signerPlugin from './plugins/signer.js'
import servicesPlugin from './plugins/services.js'
import webhooksPlugin from './plugins/webhooks.js'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { jsonSchemaTransform } from 'fastify-type-provider-zod'
import adminRoutes from './routes/admin/index.js'
import consoleRoutes from './routes/console/index.js'
import ftpRoutes from './routes/ftp/index.js'
import healthRoutes from './routes/health/index.js'
import iupdateRoutes from './routes/iupdate/index.js'
import metricsRoutes from './routes/metrics/index.js'
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
  await fastify.register(metricsPlugin)
  await fastify.register(prismaPlugin)
  await fastify.register(webhooksPlugin)
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
  await fastify.register(metricsRoutes)
  await fastify.register(iupdateRoutes)
  await fastify.register(wellKnownRoutes)
  await fastify.register(ftpRoutes)
  await fastify.register(adminRoutes)
  await fastify.register(consoleRoutes)
}

// Download tokens travel in the query string (?t=): never log them.
const SECRET_QUERY = /([?&](?:t|token)=)[^&]*/gi

export function redactUrl (url: string): string {
  return url.replace(SECRET_QUERY, '$1[REDACTED]')
}

/** An `X-Request-Id` set by a proxy is used when it looks like an id, and never echoed otherwise. */
const GIVEN_ID = /^[A-Za-z0-9._-]{1,64}$/

/** Fastify's genReqId: the proxy's `X-Request-Id` when sane, else a new UUID. */
export function requestId (req: RawRequestDefaultExpression): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && GIVEN_ID.test(given) ? given : randomUUID()
}

/** Server options shared by src/server.ts and the tests: logging, request ids, proxies. */
export function serverOptions (config: Config): FastifyServerOptions<RawServerDefault> {
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
    // requestId reads X-Request-Id itself: Fastify would take any value given.
    requestIdHeader: false,
    genReqId: requestId,
    trustProxy: config.TRUST_PROXY,
    // The repository's first scan hashes every file before the server answers: on a large
    // repository that takes longer than Fastify's 10 s default for a plugin to start.
    pluginTimeout: 0,
    frameworkErrors: answerFrameworkError,
    return503OnClosing: true,
    forceCloseConnections: 'idle'
  }
}
