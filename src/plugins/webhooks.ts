import fp from 'fastify-plugin'
import { Webhooks } from '../webhooks/webhooks.js'

declare module 'fastify' {
  interface FastifyInstance {
    webhooks: Webhooks
  }
}

/** Webhooks: the event sink services report to, and the queue delivering them (docs/operations.md, "Webhooks"). */
export default fp(async function webhooksPlugin (fastify) {
  const { config } = fastify
  const webhooks = new Webhooks(fastify.prisma, {
    pool: fastify.pg,
    timeoutMs: config.WEBHOOK_TIMEOUT_SECONDS * 1000,
    retryLimit: config.WEBHOOK_RETRY_LIMIT,
    retryDelaySeconds: config.WEBHOOK_RETRY_DELAY_SECONDS,
    concurrency: config.WEBHOOK_CONCURRENCY,
    flushMs: config.WEBHOOK_FLUSH_MS,
    log: fastify.log.child({ component: 'webhooks' })
  })
  await webhooks.start()
  fastify.decorate('webhooks', webhooks)
  // Registered before the services: closed after them, so that their last events are queued.
  fastify.addHook('onClose', async () => { await webhooks.stop() })
}, { name: 'webhooks', dependencies: ['config', 'prisma'] })
