import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { pagination, text } from './schemas.js'

/** The audit log: every change made through the admin API. */
const auditRoutes: FastifyPluginAsyncZod = async (fastify) => {
  fastify.get('/api/v1/audit', {
    schema: { tags: ['audit'], summary: 'List audit entries, newest first', querystring: z.object({ actor: text(64).optional(), action: text(64).optional(), ...pagination }) }
  }, async (request) => {
    const { limit, offset } = request.query
    const { total, items } = await fastify.auditLog.list(request.query)
    return { total, limit, offset, items: items.map((r) => ({ id: Number(r.id), at: r.at, actor: r.actor, action: r.action, target: r.target, details: r.details })) }
  })
}

export default auditRoutes
