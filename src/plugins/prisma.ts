import fp from 'fastify-plugin'
import type pg from 'pg'
import { createPool, createPrismaClient, type PrismaClient } from '../db/prisma.js'

declare module 'fastify' {
  interface FastifyInstance {
    prisma: PrismaClient
    /** The same connections as Prisma's, for the one statement of a poll (license/cache.ts). */
    pg: pg.Pool
  }
}

/** The database: one pool of DB_POOL_MAX connections, used by Prisma and by the polls' statement; closed with the app. */
export default fp(async function prismaPlugin (fastify) {
  const { DATABASE_URL, DB_POOL_MAX } = fastify.config
  if (DATABASE_URL === undefined) throw new Error('DATABASE_URL must be resolved before the app is built')
  const pool = createPool(DATABASE_URL, DB_POOL_MAX)
  // A connection that breaks while idle is replaced at the next query; it must not crash the process.
  pool.on('error', (err) => { fastify.log.warn({ err }, 'an idle database connection failed') })
  const prisma = createPrismaClient(DATABASE_URL, DB_POOL_MAX, pool)
  fastify.decorate('prisma', prisma)
  fastify.decorate('pg', pool)
  fastify.addHook('onClose', async () => {
    await prisma.$disconnect()
    await pool.end()
  })
}, { name: 'prisma', dependencies: ['config'] })
