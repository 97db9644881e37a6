import type { WebhookEvent } from './webhooks.js'

/**
 * The webhook events of admin API changes and release control, read from the audit log's
 * entries (every such change is audited: src/admin/audit-log.ts). docs/operations.md lists
 * each event's data.
 */
export function auditedEvents (action: string, target: string, details: Record<string, unknown> | undefined): Array<{ type: WebhookEvent, data: Record<string, unknown> }> {
  const [program, version] = target.split('/')
  switch (action) {
    case 'version.publish': return [{ type: 'version.published', data: { program, version } }]
    case 'version.yank': return [{ type: 'version.yanked', data: { program, version } }]
    case 'version.halt': return [{ type: 'rollout.halted', data: { program, version, reason: details?.reason ?? null, automatic: details?.automatic === true } }]
    case 'license.create': return [{ type: 'license.created', data: { key: target, program: details?.program } }]
    case 'license.import': return ((details?.keys ?? []) as string[]).map((key) => ({ type: 'license.created', data: { key } }))
    case 'license.update': return [{ type: 'license.updated', data: { key: target, changes: details ?? {} } }]
    case 'license.seat.free': return [{ type: 'seat.freed', data: { key: target, ...(details ?? {}) } }]
    default: return []
  }
}
