import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Fields } from '../../protocol/fields.js'
import type { Charset, Line } from '../../protocol/text.js'

export interface IupdateContext {
  request: FastifyRequest
  reply: FastifyReply
  /** Query string and form body merged; the body wins for a field given in both. */
  fields: Fields
  charset: Charset
  app: FastifyInstance
}

/** The KEY=value lines of a success; null when the function sent its reply itself (an HTML page). */
export type IupdateAnswer = readonly Line[] | null

/** One `f=` function: its answer, or a ProtocolError thrown. */
export type IupdateFunction = (context: IupdateContext) => Promise<IupdateAnswer>
