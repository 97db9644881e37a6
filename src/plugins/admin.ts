import fp from 'fastify-plugin'
import { AuditLog } from '../admin/audit-log.js'
import { AdminTokens, BearerTokens } from '../admin/bearer-tokens.js'
import { auditedEvents } from '../webhooks/events.js'

declare module 'fastify' {
  interface FastifyInstance {
    auditLog: AuditLog
    bearerTokens: BearerTokens
    adminTokens: AdminTokens
  }
}

/** Who may use the admin API (ADMIN_TOKEN and the tokens of npm run admin -- token …), and the log of what they changed. */
export default fp(async function adminPlugin (fastify) {
  const { webhooks } = fastify
  fastify.decorate('auditLog', new AuditLog(fastify.prisma, (action, target, details) => {
    for (const event of auditedEvents(action, target, details)) webhooks.emit(event.type, event.data)
  }))
  fastify.decorate('bearerTokens', new BearerTokens(fastify.prisma, fastify.config.ADMIN_TOKEN))
  fastify.decorate('adminTokens', new AdminTokens(fastify.prisma, fastify.auditLog))
}, { name: 'admin', dependencies: ['config', 'prisma', 'webhooks'] })
