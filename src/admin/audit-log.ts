import type { PrismaClient } from '../db/prisma.js'

/** Writes one audit entry: who (the token's name) did what to which target. */
export async function audit (prisma: PrismaClient, actor: string, action: string, target: string, details?: Record<string, unknown>): Promise<void> {
  await prisma.auditEntry.create({ data: { actor, action, target, details: details === undefined ? undefined : JSON.parse(JSON.stringify(details)) } })
}
