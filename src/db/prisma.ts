import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from '../generated/prisma/client.js'

export type { PrismaClient }

/** A Prisma client on the pg driver adapter (no native engine), with a bounded pool. */
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
