import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
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
  app: FastifyInstance
}

/**
 * One `f=` function: returns the KEY=value lines of a success, or throws a ProtocolError.
 * A function that answers otherwise (an HTML page) sends the reply itself and returns null.
 */
export type IupdateFunction = (context: IupdateContext) => Promise<readonly Line[] | null>
