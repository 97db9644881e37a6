import type { PrismaClient } from '../generated/prisma/client.js'
import { page, type Page, type PageQuery } from '../db/page.js'

export interface AuditQuery extends PageQuery {
  actor?: string
  /** The start of an action: `license.` finds every license action. */
  action?: string
}

/** The audit log: who (an admin token's name) did what to which target, and when. */
export class AuditLog {
  /** `recorded`: told of every entry once written (the webhook events of src/webhooks/events.ts). */
  constructor (private readonly prisma: PrismaClient, private readonly recorded?: (action: string, target: string, details: Record<string, unknown> | undefined) => void) {}

  async record (actor: string, action: string, target: string, details?: object): Promise<void> {
    const json = details === undefined ? undefined : JSON.parse(JSON.stringify(details))
    await this.prisma.auditEntry.create({ data: { actor, action, target, details: json } })
    this.recorded?.(action, target, json)
  }

  /** Newest first (the id is unique and grows with time). */
  async list ({ actor, action, limit, offset }: AuditQuery): Promise<Page<{ id: bigint, at: Date, actor: string, action: string, target: string, details: unknown }>> {
    const where = { ...(actor === undefined ? {} : { actor }), ...(action === undefined ? {} : { action: { startsWith: action } }) }
    return await page(
      this.prisma.auditEntry.count({ where }),
      this.prisma.auditEntry.findMany({ where, orderBy: { id: 'desc' }, take: limit, skip: offset })
    )
  }
}
