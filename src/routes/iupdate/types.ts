import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { PrismaClient } from '../../db/prisma.js'
import type { Fields } from '../../protocol/fields.js'
import type { Charset, Line } from '../../protocol/text.js'

/** What f=qrymaxver needs of its request (the fast path gives it this much): a logger, and the scheme and host of its links. */
export type PollRequest = Pick<FastifyRequest, 'log' | 'host' | 'protocol'>

export interface IupdateContext {
  request: FastifyRequest
  reply: FastifyReply
  /** Query string and form body merged; the body wins for a field given in both. */
  fields: Fields
  charset: Charset
  prisma: PrismaClient
  app: FastifyInstance
}

/**
 * The KEY=value lines of a success, sent with no headers but their own (headers set on the
 * reply are not sent with them); null when the function sent its reply itself (an HTML page).
 */
export type IupdateAnswer = readonly Line[] | null

/**
 * One `f=` function: returns its answer, or throws (or rejects with) a ProtocolError. A
 * function may answer at once, without a promise, when it has all it needs in memory: a poll
 * usually does.
 */
export type IupdateFunction = (context: IupdateContext) => IupdateAnswer | Promise<IupdateAnswer>
