import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { FastifyBaseLogger } from 'fastify'
import { parse as parseQuery } from 'fast-querystring'
import { requestLogger } from '../../deferred-logger.js'
import type { FrontHandler } from '../../http-server.js'
import { logsInfo } from '../../log-level.js'
import { scalar, type Fields } from '../../protocol/fields.js'
import { writeAnswer } from '../../protocol/send.js'
import { byteString, charsetFromQuery, contentType, linesText } from '../../protocol/text.js'
import { keepRequestId } from '../../request-id.js'
import type { RateLimiter } from './rate-limit.js'
import type { IupdateAnswer, PollRequest } from './types.js'

/**
 * The polls' fast path: a GET of `f=qrymaxver` answered from memory is written before Fastify
 * routes the request. Measured (bench/qrymaxver.ts, DEVELOPERS.md), Fastify's per-request
 * pipeline (routing, Request and Reply objects, hooks, response listeners) cost a poll as
 * much as the poll's own work, and polls are nearly all of this server's requests.
 *
 * It is the same request, answered the same way, not a second implementation: the same rate
 * limiter counts it, the same qrymaxver function answers it, the answer is written as
 * `sendAnswer` writes it, and it is logged with the same lines at the same levels. Whatever
 * is not a success known at once goes to Fastify with what was worked out so far (a `HandOver`)
 * and is finished there: an error becomes the protocol's error answer in the one error
 * handler, an answer that waits (a license read, a seat taken, a LICENSE string signed) is
 * awaited and sent by the route, a refused request is refused by the route's hook. Nothing is
 * done twice. Every other request (another function, POST, a long request line, behind a
 * trusted proxy, while closing) goes to Fastify untouched.
 */

/** What the fast path had worked out when it handed a request to Fastify. */
export interface HandOver {
  /** The rate limiter's answer for this request: it was counted once, here. */
  wait: number
  /** qrymaxver's outcome, when it was called: its answer, a promise of it, or what it threw. */
  outcome?: () => IupdateAnswer | Promise<IupdateAnswer>
}

export interface FastPathOptions {
  /** The endpoint's path (IUPDATE_PATH). */
  path: string
  /** Longer request lines are answered by Fastify (URI_TOO_LONG). */
  maxUrlBytes: number
  limiter: RateLimiter
  /** The application's logger; each request gets a child of it, as from Fastify. */
  log: FastifyBaseLogger
  /** f=qrymaxver for these fields. */
  answer: (fields: Fields, request: PollRequest) => IupdateAnswer | Promise<IupdateAnswer>
  /** Records what a request handed to Fastify carries (index.ts reads it back). */
  handOver: (req: IncomingMessage, handOver: HandOver) => void
  /** True once the server is closing: Fastify then answers 503 itself. */
  closing: () => boolean
}

const QUESTION_MARK = 0x3f

export function pollFastPath (options: FastPathOptions): FrontHandler {
  const { path, maxUrlBytes, limiter, answer, handOver, closing } = options
  const queryAt = path.length + 1
  return (req, res, requestId) => {
    const url = req.url
    if (req.method !== 'GET' || url === undefined || url.length > maxUrlBytes || url.charCodeAt(path.length) !== QUESTION_MARK || !url.startsWith(path) || closing()) return false
    // As Fastify's router parses a query string (find-my-way's default parser).
    const query = url.slice(queryAt)
    const fields: Fields = query.length === 0 ? {} : parseQuery(query)
    if (scalar(fields, 'f') !== 'qrymaxver' || fields.nonce !== undefined) return false

    const started = performance.now()
    const id = requestId(req)
    const socket = req.socket
    const request: PollRequest = {
      log: requestLogger(options.log, { reqId: id }, {}),
      host: req.headers.host ?? '',
      protocol: (socket as TLSSocket).encrypted === true ? 'https' : 'http'
    }
    const info = logsInfo(request.log)
    if (info) request.log.info({ req: { method: req.method, url, ip: socket.remoteAddress, headers: req.headers } }, 'incoming request')
    const wait = limiter.take(socket.remoteAddress ?? '')
    if (wait > 0) return pass(req, id, { wait })

    const charset = charsetFromQuery(scalar(fields, 'cs'))
    let lines: IupdateAnswer | Promise<IupdateAnswer>
    try {
      lines = answer(fields, request)
    } catch (err) {
      return pass(req, id, { wait, outcome: () => { throw err } })
    }
    if (lines instanceof Promise) {
      // Fastify's handler takes it over in this same turn; until then nothing may report it as unhandled.
      lines.catch(() => {})
      const pending = lines
      return pass(req, id, { wait, outcome: () => pending })
    }
    if (lines === null) return pass(req, id, { wait, outcome: () => null })
    writeAnswer(res, contentType(charset), byteString(linesText(lines), charset))
    if (info) request.log.info({ res: { statusCode: 200 }, responseTime: performance.now() - started }, 'request completed')
    return true
  }

  function pass (req: IncomingMessage, id: string, given: HandOver): false {
    keepRequestId(req, id)
    handOver(req, given)
    return false
  }
}
