import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { tokenName } from '../../admin/fields.js'

/** Admin tokens: list, create (the secret is answered once), revoke (its console sessions end too). */
const tokenRoutes: FastifyPluginAsyncZod = async (fastify) => {
  const { adminTokens } = fastify

  fastify.get('/api/v1/tokens', { schema: { tags: ['tokens'], summary: 'List admin tokens (never their secrets)' } }, async () => ({ items: await adminTokens.list() }))

  fastify.post('/api/v1/tokens', {
    schema: { tags: ['tokens'], summary: 'Create an admin token; the answer carries the token, shown only now', body: z.object({ name: tokenName }) }
  }, async (request, reply) => await reply.status(201).send(await adminTokens.create(request.body.name, request.adminName)))

  fastify.delete('/api/v1/tokens/:name', { schema: { tags: ['tokens'], summary: 'Revoke an admin token', params: z.object({ name: tokenName }) } }, async (request, reply) => {
    await adminTokens.revoke(request.params.name, request.adminName)
    return await reply.status(204).send()
  })
}

export default tokenRoutes
