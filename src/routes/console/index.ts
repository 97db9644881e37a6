import { existsSync } from 'node:fs'
import { join } from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { ApiError } from '../../errors.js'
import { PACKAGE_ROOT } from '../../paths.js'

/** Where `npm run build` (scripts/build-console.mjs) puts the console's bundle. */
export const CONSOLE_DIR = join(PACKAGE_ROOT, 'dist', 'console')

/** Nothing but this server: the bundle, its styles, and the admin API on the same origin. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer'
}

/**
 * The web console at /admin (docs/console.md): static files, and index.html for every other
 * path below /admin so that the console's own addresses (/admin/licenses) load it. It talks
 * to the admin API only, through the session of /admin/session.
 */
const consoleRoutes: FastifyPluginAsync<{ dir?: string }> = async (fastify, opts) => {
  const dir = opts.dir ?? CONSOLE_DIR
  fastify.addHook('onSend', async (_request, reply) => { reply.headers(SECURITY_HEADERS) })
  if (!existsSync(join(dir, 'index.html'))) {
    fastify.log.warn({ dir }, 'the web console is not built (npm run build); /admin answers 503')
    const missing = async (): Promise<never> => { throw new ApiError(503, 'UNAVAILABLE', 'The web console is not built: run npm run build.') }
    fastify.get('/admin', missing)
    fastify.get('/admin/*', missing)
    return
  }
  await fastify.register(fastifyStatic, { root: dir, prefix: '/admin/', wildcard: false, index: false, cacheControl: false })
  const page = async (_request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => await reply.header('cache-control', 'no-cache').sendFile('index.html')
  fastify.get('/admin', page)
  fastify.get('/admin/*', page)
}

export default consoleRoutes
