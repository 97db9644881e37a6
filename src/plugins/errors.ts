import fp from 'fastify-plugin'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { ApiError, ProtocolError, type ProtocolErrorCode } from '../errors.js'
import { isDatabaseUnavailable } from '../db/errors.js'
import { charsetFromQuery, contentType, encodeError } from '../protocol/text.js'
import { sendProtocolBody } from '../protocol/send.js'

/**
 * The one error handler. Every failure is mapped to a status and a code here:
 * on the public protocol surface (/myweb/) as `ERROR=<CODE>` text, elsewhere as JSON
 * problem details (RFC 9457). 5xx details are logged whole and never sent.
 */
export default fp(async function errorsPlugin (fastify) {
  const retryAfter = String(fastify.config.RETRY_AFTER_SECONDS)

  function classify (err: FastifyError | ProtocolError): ProtocolError {
    if (err instanceof ProtocolError) return err
    if (isDatabaseUnavailable(err)) {
      return new ProtocolError('UNAVAILABLE', 'The service is temporarily unavailable; try again later.', { 'retry-after': retryAfter })
    }
    const status = err.statusCode ?? 500
    if (status === 413) return new ProtocolError('PAYLOAD_TOO_LARGE', 'The request body is too large.')
    if (status === 414) return new ProtocolError('URI_TOO_LONG', 'The request line is too long.')
    if (status === 429) return new ProtocolError('RATE_LIMITED', 'Too many requests; slow down.')
    if (status >= 400 && status < 500) {
      const code: ProtocolErrorCode = status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST'
      const error = new ProtocolError(code, err.message)
      ;(error as { statusCode: number }).statusCode = status
      return error
    }
    return new ProtocolError('INTERNAL', 'Internal server error.')
  }

  fastify.setErrorHandler(function handleError (err: FastifyError, request, reply) {
    // A client that went away mid-request (its socket reset: ECONNRESET) is not the database.
    if (request.raw.readableAborted || request.raw.socket.destroyed) {
      request.log.info({ err: { message: err.message, code: err.code } }, 'client went away')
      return reply.status(400).send()
    }
    if (!isProtocolSurface(request)) return sendProblem(request, reply, err, retryAfter)
    const error = classify(err)
    if (error.statusCode >= 500) {
      if (error.code === 'UNAVAILABLE') request.log.warn({ err }, 'database unavailable')
      else request.log.error({ err }, 'request failed')
    }
    for (const [name, value] of Object.entries(error.headers)) reply.header(name, value)
    if (error.code === 'RATE_LIMITED' && !reply.hasHeader('retry-after')) reply.header('retry-after', retryAfter)
    return sendError(request, reply, error)
  })

  fastify.setNotFoundHandler(function notFound (request, reply) {
    return sendError(request, reply, new ProtocolError('NOT_FOUND', `No such resource: ${request.method} ${request.url.split('?')[0]}`))
  })
}, { name: 'errors', dependencies: ['config'] })

/**
 * Fastify's own errors before a route is found (a path that is not valid percent-encoding),
 * given as serverOptions.frameworkErrors: answered like any other bad request, in the
 * surface's format, without echoing the URL (it may carry a download token).
 */
export function answerFrameworkError (_error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendError(request, reply, new ProtocolError('BAD_REQUEST', 'The request path is not valid percent-encoding.'))
}

export function isProtocolSurface (request: FastifyRequest): boolean {
  return request.url.startsWith('/myweb/') || request.url.startsWith('/ftp/')
}

const TITLES: Record<number, string> = { 400: 'BAD_REQUEST', 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 405: 'METHOD_NOT_ALLOWED', 406: 'NOT_ACCEPTABLE', 409: 'CONFLICT', 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE', 429: 'RATE_LIMITED' }

/** JSON problem details for everything but the protocol surface; field-level errors for bad input. */
function sendProblem (request: FastifyRequest, reply: FastifyReply, err: FastifyError | ApiError | ProtocolError, retryAfter: string): FastifyReply {
  let status = 500
  let title = 'INTERNAL'
  let detail = 'Internal server error.'
  let errors: Array<{ field: string, message: string }> | undefined
  if (err instanceof ApiError) {
    ({ statusCode: status, title, message: detail, errors } = err)
  } else if (err instanceof ProtocolError) {
    ({ statusCode: status, code: title, message: detail } = err)
  } else if (hasZodFastifySchemaValidationErrors(err)) {
    status = 400
    title = 'BAD_REQUEST'
    detail = 'The request does not have the expected form.'
    errors = err.validation.map((issue) => ({
      field: `${(err as { validationContext?: string }).validationContext ?? 'body'}${issue.instancePath.replace(/\//g, '.')}`,
      message: issue.message ?? 'invalid'
    }))
  } else if (isDatabaseUnavailable(err)) {
    status = 503
    title = 'UNAVAILABLE'
    detail = 'The database cannot be reached; try again later.'
    reply.header('retry-after', retryAfter)
  } else if ((err as { code?: string }).code === 'P2002') {
    status = 409
    title = 'CONFLICT'
    detail = 'That exists already.'
  } else if ((err as { code?: string }).code === 'P2025') {
    status = 404
    title = 'NOT_FOUND'
    detail = 'Not found.'
  } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    status = err.statusCode
    title = TITLES[status] ?? 'BAD_REQUEST'
    detail = err.message
  }
  if (status >= 500 && title !== 'UNAVAILABLE') request.log.error({ err }, 'request failed')
  return reply.status(status).type('application/problem+json; charset=utf-8').send({
    type: 'about:blank',
    title,
    status,
    detail,
    ...(errors === undefined ? {} : { errors })
  })
}

function sendError (request: FastifyRequest, reply: FastifyReply, error: ProtocolError): FastifyReply {
  const detail = error.statusCode >= 500 && error.code !== 'UNAVAILABLE' ? 'Internal server error.' : error.message
  if (isProtocolSurface(request)) {
    const charset = charsetFromQuery((request.query as Record<string, unknown> | undefined)?.cs)
    return sendProtocolBody(reply, error.statusCode, contentType(charset), encodeError(error.code, detail, charset))
  }
  return sendProblem(request, reply, error, '')
}
