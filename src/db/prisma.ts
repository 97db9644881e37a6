import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { PrismaClient } from '../generated/prisma/client.js'

export type { PrismaClient }

/** A pool of `poolMax` connections to the database, failing fast when it cannot be reached. */
export function createPool (databaseUrl: string, poolMax: number): pg.Pool {
  return new pg.Pool({
    connectionString: databaseUrl,
    max: poolMax,
    // Fail fast when the server is unreachable, so clients get UNAVAILABLE instead of hanging.
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000
  })
}

/**
 * A Prisma client on the pg driver adapter (no native engine). Given a pool, it shares it
 * (the app's hot statements run on the same connections); else it has one of its own.
 */
export function createPrismaClient (databaseUrl: string, poolMax: number, pool?: pg.Pool): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg(pool ?? createPool(databaseUrl, poolMax), { disposeExternalPool: pool === undefined }) })
}
