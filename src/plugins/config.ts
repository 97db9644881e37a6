import fp from 'fastify-plugin'
import type { Config } from '../config.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

/** Makes the parsed configuration available as `fastify.config`. */
export default fp<{ config: Config }>(async function configPlugin (fastify, opts) {
  fastify.decorate('config', opts.config)
}, { name: 'config' })
