import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { EVENTS, type DeliveryRow } from '../../webhooks/webhooks.js'
import { httpUrl, pagination, text } from './schemas.js'

const endpointFields = {
  url: httpUrl,
  secret: text(100).optional().describe('whsec_ and the base64 of 24 to 64 bytes; generated when absent'),
  events: z.array(z.enum(EVENTS)).min(1).max(EVENTS.length),
  enabled: z.boolean().optional()
}
const endpointParams = z.object({ id: z.uuid() })

/** Webhooks (docs/operations.md, "Webhooks"): endpoints, their delivery log, redelivery. */
const webhookRoutes: FastifyPluginAsyncZod = async (fastify) => {
  const { webhooks } = fastify

  fastify.get('/api/v1/webhooks', { schema: { tags: ['webhooks'], summary: 'List webhook endpoints (without their secrets)' } }, async () => ({ items: await webhooks.list() }))

  fastify.post('/api/v1/webhooks', {
    schema: { tags: ['webhooks'], summary: 'Register a webhook endpoint; the answer holds its signing secret', body: z.object(endpointFields) }
  }, async (request, reply) => await reply.status(201).send(await webhooks.create(request.body)))

  fastify.get('/api/v1/webhooks/:id', { schema: { tags: ['webhooks'], summary: 'One webhook endpoint, with its secret', params: endpointParams } }, async (request) => await webhooks.find(request.params.id))

  fastify.patch('/api/v1/webhooks/:id', {
    schema: { tags: ['webhooks'], summary: 'Change a webhook endpoint: URL, secret, events, enabled', params: endpointParams, body: z.object(endpointFields).partial() }
  }, async (request) => await webhooks.update(request.params.id, request.body))

  fastify.delete('/api/v1/webhooks/:id', { schema: { tags: ['webhooks'], summary: 'Remove a webhook endpoint and its delivery log', params: endpointParams } }, async (request, reply) => {
    await webhooks.remove(request.params.id)
    return await reply.status(204).send()
  })

  fastify.get('/api/v1/webhooks/:id/deliveries', {
    schema: { tags: ['webhooks'], summary: 'The delivery log of an endpoint, newest first', params: endpointParams, querystring: z.object(pagination) }
  }, async (request) => {
    const { limit, offset } = request.query
    const { total, items } = await webhooks.deliveries(request.params.id, request.query)
    return { total, limit, offset, items: items.map(delivery) }
  })

  fastify.post('/api/v1/webhooks/:id/deliveries/:deliveryId/redeliver', {
    schema: { tags: ['webhooks'], summary: 'Send a delivery again (same webhook-id and body)', params: z.object({ id: z.uuid(), deliveryId: text(64) }) }
  }, async (request, reply) => await reply.status(202).send(delivery(await webhooks.redeliver(request.params.id, request.params.deliveryId))))

  function delivery (row: DeliveryRow): Record<string, unknown> {
    return {
      id: row.id,
      event: row.event,
      payload: JSON.parse(row.body),
      status: row.status,
      attempts: row.attempts,
      lastStatus: row.lastStatus,
      lastError: row.lastError,
      createdAt: row.createdAt,
      attemptedAt: row.attemptedAt,
      deliveredAt: row.deliveredAt
    }
  }
}

export default webhookRoutes
