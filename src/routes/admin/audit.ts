import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { pagination } from './schemas.js'

/** The audit log: every change made through the admin API. */
const auditRoutes: FastifyPluginAsyncZod = async (fastify) => {
  fastify.get('/api/v1/audit', {
    schema: { tags: ['audit'], summary: 'List audit entries, newest first', querystring: z.object({ actor: z.string().max(64).optional(), action: z.string().max(64).optional(), ...pagination }) }
  }, async (request) => {
    const { actor, action, limit, offset } = request.query
    const where = { ...(actor === undefined ? {} : { actor }), ...(action === undefined ? {} : { action: { startsWith: action } }) }
    const [total, rows] = await Promise.all([
      fastify.prisma.auditEntry.count({ where }),
      fastify.prisma.auditEntry.findMany({ where, orderBy: { id: 'desc' }, take: limit, skip: offset })
    ])
    return { total, limit, offset, items: rows.map((r) => ({ id: Number(r.id), at: r.at, actor: r.actor, action: r.action, target: r.target, details: r.details })) }
  })
}

export default auditRoutes
