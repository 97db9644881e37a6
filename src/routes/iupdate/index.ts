import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { IncomingMessage } from 'node:http'
import { parse as parseQuery } from 'node:querystring'
import multipart from '@fastify/multipart'
import { ProtocolError } from '../../errors.js'
import { scalar, type Fields } from '../../protocol/fields.js'
import { requestNonce } from '../../protocol/answer-signature.js'
import { byteString, charsetFromQuery, contentType, linesText, type Charset } from '../../protocol/text.js'
import { dlconfirm } from './dlconfirm.js'
import { getpcid } from './getpcid.js'
import { ansmsg, getmsg, sendmsg } from './messages.js'
import { newveravail } from './newveravail.js'
import { qrymaxver } from './qrymaxver.js'
import { sendAnswer } from '../../protocol/send.js'
import { RateLimiter } from './rate-limit.js'
import { pollFastPath, type HandOver } from './fast-path.js'
import { setFrontHandler } from '../../http-server.js'
import type { IupdateAnswer, IupdateFunction } from './types.js'

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

/** The public iUpdate endpoint (PROTOCOL.md §1): GET, or POST with a form body carrying the same fields. */
const iupdateRoutes: FastifyPluginAsync = async (fastify) => {
  const { config } = fastify
  // The protocol takes form bodies only (multipart for messages with attachments); anything else, JSON included, is 415.
  fastify.removeAllContentTypeParsers()
  fastify.decorateRequest('rawForm', '')
  fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: config.MAX_FORM_BYTES }, (request, body, done) => {
    request.rawForm = body as string
    done(null, parseQuery(body as string))
  })

  const limiter = new RateLimiter(config.RATE_LIMIT_MAX, config.RATE_LIMIT_WINDOW_MS)
  const limit = `at most ${config.RATE_LIMIT_MAX} per ${config.RATE_LIMIT_WINDOW_MS / 1000} s from one address`

  // Polls answered before Fastify routes them (fast-path.ts); what they hand over is finished below.
  const handedOver = new WeakMap<IncomingMessage, HandOver>()
  let closing = false
  // Behind a trusted proxy the client's address and the links' host come from X-Forwarded-*,
  // which Fastify's request works out: those polls take the ordinary route.
  if (!config.TRUST_PROXY) {
    const installed = setFrontHandler(fastify.server, pollFastPath({
      path: IUPDATE_PATH,
      maxUrlBytes: config.MAX_QUERY_BYTES,
      limiter,
      log: fastify.log,
      answer: (fields, request) => qrymaxver({ request, fields, app: fastify }),
      handOver: (req, given) => handedOver.set(req, given),
      closing: () => closing
    }))
    if (installed) {
      fastify.addHook('preClose', (done) => { closing = true; done() })
      fastify.addHook('onClose', (instance, done) => { setFrontHandler(instance.server, undefined); done() })
    }
  }

  // Every poll of every installed PC passes here: hooks are callback-style (no promise per request).
  fastify.addHook('onRequest', (request, reply, done) => {
    if (request.url.length > config.MAX_QUERY_BYTES) {
      done(new ProtocolError('URI_TOO_LONG', `The request line is longer than ${config.MAX_QUERY_BYTES} bytes.`))
      return
    }
    const wait = handedOver.get(request.raw)?.wait ?? limiter.take(request.ip)
    if (wait > 0) {
      // Only the refusal says what the limit is: update agents never read x-ratelimit-* on a normal answer.
      reply.header('retry-after', wait).header('x-ratelimit-limit', config.RATE_LIMIT_MAX).header('x-ratelimit-remaining', 0).header('x-ratelimit-reset', wait)
      done(new ProtocolError('RATE_LIMITED', `Too many requests: ${limit}. Try again in ${wait} s.`))
      return
    }
    done()
  })

  // Not async: a poll answered from memory is sent without a promise (see IupdateFunction).
  function handle (request: FastifyRequest, reply: FastifyReply): FastifyReply | Promise<FastifyReply> {
    const body = request.body
    const fields: Fields = typeof body === 'object' && body !== null
      ? { ...(request.query as Fields), ...body as Fields }
      : request.query as Fields
    const charset = charsetFromQuery(scalar(fields, 'cs'))
    const name = scalar(fields, 'f')
    if (name === undefined || name === '') throw new ProtocolError('BAD_REQUEST', 'Missing f: the function to call (getpcid, qrymaxver, ...).')
    const fn = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined
    if (fn === undefined) throw new ProtocolError('UNKNOWN_FUNCTION', `Unknown function f=${name.slice(0, 40)}.`)
    const nonce = fn === qrymaxver ? requestNonce(scalar(fields, 'nonce')) : undefined
    const outcome = handedOver.get(request.raw)?.outcome
    const answer = outcome !== undefined ? outcome() : fn({ request, reply, fields, charset, prisma: fastify.prisma, app: fastify })
    return answer instanceof Promise ? answer.then((lines) => send(reply, lines, charset, nonce)) : send(reply, answer, charset, nonce)
  }

  /** With a nonce, the answer ends with its signature (docs/protocol.md §9). */
  function send (reply: FastifyReply, lines: IupdateAnswer, charset: Charset, nonce?: string): FastifyReply {
    if (lines === null) return reply
    const body = byteString(linesText(lines), charset)
    return sendAnswer(reply, contentType(charset), nonce === undefined ? body : body + fastify.signer.answerSignature(nonce, body))
  }

  fastify.get(IUPDATE_PATH, handle)
  // Only a POST has a body, so multipart (messages with attachments) is registered for POST
  // alone: its hooks (a listener on every response, cleanup after it) are async, and polls by
  // GET are spared them. The hook above and the form parser apply to both.
  await fastify.register(async (posts) => {
    await posts.register(multipart, {
      limits: { fileSize: config.MESSAGE_MAX_ATTACHMENT_BYTES, files: config.MESSAGE_MAX_ATTACHMENTS, fields: 50, fieldSize: 256 * 1024, parts: config.MESSAGE_MAX_ATTACHMENTS + 50 }
    })
    posts.post(IUPDATE_PATH, handle)
  })
}

export default iupdateRoutes
