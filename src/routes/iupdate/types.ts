import type { FastifyReply, FastifyRequest } from 'fastify'
import type { PrismaClient } from '../../db/prisma.js'
import type { Fields } from '../../protocol/fields.js'
import type { Charset, Line } from '../../protocol/text.js'

export interface IupdateContext {
  request: FastifyRequest
  reply: FastifyReply
  /** Query string and form body merged; the body wins for a field given in both. */
  fields: Fields
  charset: Charset
  prisma: PrismaClient
}

/** One `f=` function: returns the KEY=value lines of a success, or throws a ProtocolError. */
export type IupdateFunction = (context: IupdateContext) => Promise<Iterable<Line>>
