import { LRUCache } from 'lru-cache'
import type { PrismaClient } from '../db/prisma.js'
import type { LicenseFacts } from './entitlement.js'
import type { LicenseForPcid } from './licenses.js'
import { bindSeat, type BindResult } from './seats.js'

/**
 * Licenses as qrymaxver needs them (facts and bound PCIDs), read from the database at most
 * once per `ttlMs` per key on this instance. Seat limits stay exact: taking a seat always
 * goes to the database under a row lock (seats.ts); the cache only spares reading again what
 * was just read. Changes made through this instance evict at once (`evict`); changes made
 * through another instance apply here within ttlMs.
 */
interface Entry {
  id: string
  key: string
  program: string
  status: LicenseFacts['status']
  maintenanceEnd: Date | null
  maintenanceEndIso: string | null
  seatLimit: number
  seats: Set<string>
}

export class LicenseCache {
  private readonly entries: LRUCache<string, Entry>

  private readonly statuses: LRUCache<string, LicenseFacts['status'] | 'gone'>

  constructor (private readonly prisma: PrismaClient, ttlMs: number, max = 100_000) {
    this.entries = new LRUCache({ max, ttl: Math.max(1, ttlMs) })
    this.statuses = new LRUCache({ max, ttl: Math.max(1, ttlMs) })
  }

  /** The licenses named by these canonical keys, with this PCID's seat situation: at most one query. */
  async lookup (keys: string[], pcid: string): Promise<Map<string, LicenseForPcid>> {
    const entries = new Map<string, Entry>()
    const missing: string[] = []
    for (const key of keys) {
      const entry = this.entries.get(key)
      if (entry === undefined) missing.push(key)
      else entries.set(key, entry)
    }
    // What was just read is used as read, even if its cache entry expired meanwhile.
    if (missing.length > 0) for (const entry of await this.load(missing)) entries.set(entry.key, entry)
    const found = new Map<string, LicenseForPcid>()
    for (const key of keys) {
      const entry = entries.get(key)
      if (entry === undefined) continue
      found.set(key, forPcid(entry, pcid))
    }
    return found
  }

  /**
   * Takes a seat of the license for this PCID, in the database under the license's row lock
   * (seats.ts), and keeps the cached entry in step: the PCID holds it, or the entry is read
   * again next time (the license is full or gone).
   */
  async takeSeat (license: LicenseForPcid, pcid: string): Promise<BindResult> {
    const bound = await bindSeat(this.prisma, license.id, pcid)
    if (bound === 'bound' || bound === 'already') this.entries.get(license.key)?.seats.add(pcid)
    else this.entries.delete(license.key)
    return bound
  }

  /** A license's status by its id (the claim of a download link), read at most once per ttlMs. Undefined: no such license. */
  async status (id: string): Promise<LicenseFacts['status'] | undefined> {
    const kept = this.statuses.get(id)
    if (kept !== undefined) return kept === 'gone' ? undefined : kept
    const row = await this.prisma.license.findUnique({ where: { id }, select: { status: true } })
    this.statuses.set(id, row?.status ?? 'gone')
    return row?.status
  }

  /** After a change through this instance: the license is read again at its next use. */
  evict (key?: string): void {
    if (key === undefined) this.entries.clear()
    else this.entries.delete(key)
    // Statuses are kept by id; changes are rare, so all are read again.
    this.statuses.clear()
  }

  private async load (keys: string[]): Promise<Entry[]> {
    const rows = await this.prisma.$queryRaw<Array<{ id: string, key: string, program: string, status: LicenseFacts['status'], maintenance_end: Date | null, seat_limit: number, seats: string[] }>>`
      SELECT l.id, l.key, p.name AS program, l.status, l.maintenance_end, l.seat_limit,
             coalesce((SELECT array_agg(s.pcid) FROM seat s WHERE s.license_id = l.id), '{}') AS seats
        FROM license l JOIN program p ON p.id = l.program_id
       WHERE l.key = ANY(${keys}::text[])`
    return rows.map((row) => {
      const entry = {
        id: row.id,
        key: row.key,
        program: row.program,
        status: row.status,
        maintenanceEnd: row.maintenance_end,
        maintenanceEndIso: row.maintenance_end?.toISOString() ?? null,
        seatLimit: row.seat_limit,
        seats: new Set(row.seats)
      }
      this.entries.set(row.key, entry)
      return entry
    })
  }
}

function forPcid (entry: Entry, pcid: string): LicenseForPcid {
  return {
    id: entry.id,
    key: entry.key,
    program: entry.program,
    status: entry.status,
    maintenanceEnd: entry.maintenanceEnd,
    maintenanceEndIso: entry.maintenanceEndIso,
    seatLimit: entry.seatLimit,
    bound: entry.seats.has(pcid),
    used: entry.seats.size
  }
}
