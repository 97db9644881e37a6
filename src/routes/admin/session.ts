import { hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import secureSession from '@fastify/secure-session'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { hashToken } from '../../admin/bearer-tokens.js'
import { ApiError } from '../../errors.js'
import { loadSecret } from '../../secret-file.js'
import { text } from './schemas.js'

declare module '@fastify/secure-session' {
  interface SessionData {
    /** SHA-256 of the admin token the session was opened with: checked against the token store on every request. */
    token: string
    /** The value the console sends back as X-CSRF-Token on every request that changes something. */
    csrf: string
  }
}

export const SESSION_COOKIE = 'iupdate_session'
export const CSRF_HEADER = 'x-csrf-token'
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * The web console's sessions (docs/console.md): a cookie sealed with a key derived from
 * SESSION_SECRET (or DATA_DIR/session-secret), HttpOnly, SameSite=Strict, Secure when the
 * request came over HTTPS (X-Forwarded-Proto with TRUST_PROXY). Registered in the admin API's
 * scope only: the client protocol never parses cookies.
 */
export const sessionCookies = fp(async function sessionCookies (fastify) {
  const { config, log } = fastify
  const { secret, generated } = await loadSecret(config.SESSION_SECRET, config.DATA_DIR, 'session-secret')
  if (generated) log.warn({ dataDir: config.DATA_DIR }, 'generated a new console session secret; instances behind one load balancer must share DATA_DIR/session-secret or SESSION_SECRET')
  const seconds = config.SESSION_HOURS * 3600
  await fastify.register(secureSession, {
    key: Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'iupdate console session', 32)),
    cookieName: SESSION_COOKIE,
    expiry: seconds,
    cookie: { path: '/', httpOnly: true, sameSite: 'strict', secure: 'auto', maxAge: seconds }
  })
}, { name: 'session-cookies', dependencies: ['config'] })

/**
 * The caller of an admin API request: the bearer token of its Authorization header, else the
 * token of its console session, which must still be valid (a revoked token ends its sessions)
 * and, for a change, come with the session's CSRF value.
 */
export async function identifyCaller (fastify: FastifyInstance, request: FastifyRequest): Promise<string> {
  const hash = request.headers.authorization === undefined ? request.session.get('token') : undefined
  const caller = hash === undefined ? await fastify.bearerTokens.identify(request.headers.authorization) : await fastify.bearerTokens.identifyHash(hash)
  if (!caller.ok) {
    if (hash !== undefined) request.session.delete()
    throw new ApiError(caller.status, caller.status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN', caller.reason)
  }
  if (hash !== undefined && !SAFE_METHODS.has(request.method) && !csrfMatches(request)) {
    throw new ApiError(403, 'FORBIDDEN', `A change made with a console session needs its ${CSRF_HEADER} header.`)
  }
  return caller.name
}

function csrfMatches (request: FastifyRequest): boolean {
  const expected = Buffer.from(request.session.get('csrf') ?? '')
  const given = Buffer.from(String(request.headers[CSRF_HEADER] ?? ''))
  return expected.length > 0 && given.length === expected.length && timingSafeEqual(given, expected)
}

/** POST /admin/session signs in with an admin token, GET tells who is signed in, DELETE signs out. */
export const sessionRoutes: FastifyPluginAsyncZod = async (fastify) => {
  const { bearerTokens, auditLog, config } = fastify
  const answer = (name: string, csrf: string): Record<string, unknown> => ({ name, csrf, hours: config.SESSION_HOURS })

  fastify.post('/admin/session', {
    schema: { tags: ['session'], summary: 'Sign in to the web console with an admin token: sets the session cookie', body: z.object({ token: text(200).min(1) }) }
  }, async (request) => {
    const hash = hashToken(request.body.token)
    const caller = await bearerTokens.identifyHash(hash)
    if (!caller.ok) throw new ApiError(caller.status, caller.status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN', caller.reason, [{ field: 'body.token', message: caller.reason }])
    const csrf = randomBytes(24).toString('base64url')
    request.session.regenerate()
    request.session.set('token', hash)
    request.session.set('csrf', csrf)
    await auditLog.record(caller.name, 'session.signin', caller.name)
    return answer(caller.name, csrf)
  })

  fastify.get('/admin/session', { schema: { tags: ['session'], summary: 'The console session: the token\'s name and the CSRF value; 401 when signed out' } }, async (request) => {
    const hash = request.session.get('token')
    if (hash === undefined) throw new ApiError(401, 'UNAUTHORIZED', 'Not signed in.')
    const name = await identifyCaller(fastify, request)
    return answer(name, request.session.get('csrf') ?? '')
  })

  fastify.delete('/admin/session', { schema: { tags: ['session'], summary: 'Sign out of the web console' } }, async (request, reply) => {
    if (request.session.get('token') !== undefined) await identifyCaller(fastify, request).catch(() => {})
    request.session.delete()
    return await reply.status(204).send()
  })
}
