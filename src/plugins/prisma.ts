import fp from 'fastify-plugin'
import { createPrismaClient, type PrismaClient } from '../db/prisma.js'

declare module 'fastify' {
  interface FastifyInstance {
    prisma: PrismaClient
  }
}

/** The Prisma client, connected to config.DATABASE_URL, closed with the app. */
export default fp(async function prismaPlugin (fastify) {
  const { DATABASE_URL, DB_POOL_MAX } = fastify.config
  if (DATABASE_URL === undefined) throw new Error('DATABASE_URL must be resolved before the app is built')
  const prisma = createPrismaClient(DATABASE_URL, DB_POOL_MAX)
  fastify.decorate('prisma', prisma)
  fastify.addHook('onClose', async () => { await prisma.$disconnect() })
}, { name: 'prisma', dependencies: ['config'] })
