import fp from 'fastify-plugin'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from '../generated/prisma/client.js'

declare module 'fastify' {
  interface FastifyInstance {
    prisma: PrismaClient
  }
}

export type { PrismaClient }

export function createPrismaClient (databaseUrl: string, poolMax: number): PrismaClient {
  const adapter = new PrismaPg({
    connectionString: databaseUrl,
    max: poolMax,
    // Fail fast when the server is unreachable, so clients get UNAVAILABLE instead of hanging.
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000
  })
  return new PrismaClient({ adapter })
}

/** The Prisma client, connected to config.DATABASE_URL, closed with the app. */
export default fp(async function prismaPlugin (fastify) {
  const { DATABASE_URL, DB_POOL_MAX } = fastify.config
  if (DATABASE_URL === undefined) throw new Error('DATABASE_URL must be resolved before the app is built')
  const prisma = createPrismaClient(DATABASE_URL, DB_POOL_MAX)
  fastify.decorate('prisma', prisma)
  fastify.addHook('onClose', async () => { await prisma.$disconnect() })
}, { name: 'prisma', dependencies: ['config'] })
