import type { FastifyPluginAsync } from 'fastify'

/** The public keys that verify LICENSE strings (docs/protocol.md §6). */
const wellKnownRoutes: FastifyPluginAsync = async (fastify) => {
  fastify.get('/.well-known/jwks.json', async (_request, reply) => {
    return await reply.header('cache-control', 'public, max-age=300').type('application/jwk-set+json').send(fastify.signer.jwks())
  })
}

export default wellKnownRoutes
