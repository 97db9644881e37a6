import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { parse as parseQuery } from 'node:querystring'
import multipart from '@fastify/multipart'
import rateLimit from '@fastify/rate-limit'
import { ProtocolError } from '../../errors.js'
import { bodyDeadline } from '../../http/body-deadline.js'
import { rateLimitOptions } from '../../http/rate-limit.js'
import { scalar, type Fields } from '../../protocol/fields.js'
import { requestNonce } from '../../protocol/answer-signature.js'
import { sendProtocolBody } from '../../protocol/send.js'
import { charsetFromQuery, contentType, encodeLines } from '../../protocol/text.js'
import { dlconfirm } from './dlconfirm.js'
import { getpcid } from './getpcid.js'
import { ansmsg, getmsg, sendmsg } from './messages.js'
import { newveravail } from './newveravail.js'
import { qrymaxver } from './qrymaxver.js'
import type { IupdateFunction } from './types.js'

export const IUPDATE_PATH = '/myweb/iupdate.php'

/** The `f=` functions this server answers; anything else is UNKNOWN_FUNCTION. */
const FUNCTIONS: Record<string, IupdateFunction> = {
  getpcid,
  qrymaxver,
  newveravail,
  dlconfirm,
  sendmsg,
  getmsg,
  ansmsg
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The form body as sent (percent-encoded), for fields in a client charset. */
    rawForm: string
  }
}

/** The public iUpdate endpoint (docs/protocol.md §1): GET, or POST with a form body carrying the same fields. */
const iupdateRoutes: FastifyPluginAsync = async (fastify) => {
  const { config } = fastify
  // The protocol takes form bodies only (multipart for messages with attachments); anything else, JSON included, is 415.
  fastify.removeAllContentTypeParsers()
  fastify.decorateRequest('rawForm', '')
  fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: config.MAX_FORM_BYTES }, (request, body, done) => {
    request.rawForm = body as string
    done(null, parseQuery(body as string))
  })

  fastify.addHook('onRequest', async (request) => {
    if (request.url.length > config.MAX_QUERY_BYTES) throw new ProtocolError('URI_TOO_LONG', `The request line is longer than ${config.MAX_QUERY_BYTES} bytes.`)
    // A form is small; a message's attachments may take a slow office line minutes.
    const multipartBody = request.headers['content-type']?.startsWith('multipart/') === true
    bodyDeadline(request, (multipartBody ? config.MESSAGE_BODY_TIMEOUT_SECONDS : config.BODY_TIMEOUT_SECONDS) * 1000)
  })
  await fastify.register(rateLimit, rateLimitOptions({ max: config.RATE_LIMIT_MAX, windowMs: config.RATE_LIMIT_WINDOW_MS, clients: config.RATE_LIMIT_CLIENTS }))

  async function handle (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const body = request.body
    const fields: Fields = typeof body === 'object' && body !== null
      ? { ...(request.query as Fields), ...body as Fields }
      : request.query as Fields
    const nul = fieldWithNul(fields)
    if (nul !== undefined) throw new ProtocolError('BAD_REQUEST', `The field ${nul.slice(0, 40)} holds a NUL character; nothing was done.`)
    const charset = charsetFromQuery(scalar(fields, 'cs'))
    const name = scalar(fields, 'f')
    if (name === undefined || name === '') throw new ProtocolError('BAD_REQUEST', 'Missing f: the function to call (getpcid, qrymaxver, ...).')
    const fn = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined
    if (fn === undefined) throw new ProtocolError('UNKNOWN_FUNCTION', `Unknown function f=${name.slice(0, 40)}.`)
    const nonce = fn === qrymaxver ? requestNonce(scalar(fields, 'nonce')) : undefined
    const lines = await fn({ request, reply, fields, charset, app: fastify })
    // null: the function sent its reply itself (an HTML page).
    if (lines === null) return reply
    const answer = encodeLines(lines, charset)
    // With a nonce, the answer ends with its signature (docs/protocol.md §9).
    return sendProtocolBody(reply, 200, contentType(charset), nonce === undefined ? answer : Buffer.concat([answer, fastify.signer.answerSignature(nonce, answer)]))
  }

  fastify.get(IUPDATE_PATH, handle)
  // Only a POST has a body, so multipart (messages with attachments) is registered for POST
  // alone: its hooks run for the requests that can carry one.
  await fastify.register(async (posts) => {
    await posts.register(multipart, {
      limits: { fileSize: config.MESSAGE_MAX_ATTACHMENT_BYTES, files: config.MESSAGE_MAX_ATTACHMENTS, fields: 50, fieldSize: 256 * 1024, parts: config.MESSAGE_MAX_ATTACHMENTS + 50 }
    })
    posts.post(IUPDATE_PATH, handle)
  })
}

/** The name of a field whose name or value holds a NUL character (Postgres cannot store one), if any. */
function fieldWithNul (fields: Fields): string | undefined {
  for (const [name, value] of Object.entries(fields)) {
    if (name.includes('\u0000') || (Array.isArray(value) ? value.some((v) => v.includes('\u0000')) : value?.includes('\u0000') === true)) return name
  }
  return undefined
}

export default iupdateRoutes
