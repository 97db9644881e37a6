import type pg from 'pg'
import { csvRow } from './csv.js'

/**
 * Exports of licenses, seats and PCIDs as CSV (docs/admin-api.md, "CSV export"), read in
 * batches by key order (keyset pagination: each batch an index range, whatever the size) and
 * written as they come. Each file is the matching import's format with a header, so that an
 * export imports back as it was; cells are neutralised for spreadsheets (csv.ts).
 */

export type ExportKind = 'licenses' | 'seats' | 'pcids'

const BATCH = 5000
/** Excel reads a CSV as UTF-8 only after a byte order mark; the import skips it. */
const BOM = '\uFEFF'

export const LICENSE_COLUMNS = ['key', 'program', 'customerName', 'customerEmail', 'status', 'maintenanceEnd', 'seatLimit', 'notes', 'channel', 'pin', 'seats'] as const
export const SEAT_COLUMNS = ['serial', 'pcid', 'boundAt'] as const
export const PCID_COLUMNS = ['pcid', 'program', 'version', 'serial', 'firstSeen', 'lastSeen'] as const

export class CsvExport {
  constructor (private readonly pool: pg.Pool) {}

  /** The CSV text of `kind`, a batch of lines at a time. */
  lines (kind: ExportKind): AsyncGenerator<string> {
    if (kind === 'licenses') return this.licenses()
    if (kind === 'seats') return this.seats()
    return this.pcids()
  }

  private async * licenses (): AsyncGenerator<string> {
    yield BOM + csvRow(LICENSE_COLUMNS)
    let after = ''
    for (;;) {
      const { rows } = await this.pool.query<{ key: string, program: string, customer_name: string, customer_email: string | null, status: string, maintenance_end: Date | null, seat_limit: number, notes: string | null, channel: string, pin: string | null, seats: string | null }>(
        `SELECT l.key, (SELECT p.name FROM program p WHERE p.id = l.program_id) AS program, l.customer_name, l.customer_email, l.status,
                l.maintenance_end, l.seat_limit, l.notes, l.channel, l.pin,
                (SELECT string_agg(s.pcid, ' ' ORDER BY s.pcid) FROM seat s WHERE s.license_id = l.id) AS seats
           FROM license l WHERE l.key > $1 ORDER BY l.key LIMIT ${BATCH}`, [after])
      if (rows.length === 0) return
      yield rows.map((r) => csvRow([r.key, r.program, r.customer_name, r.customer_email, r.status, r.maintenance_end?.toISOString(), r.seat_limit, r.notes, r.channel, r.pin, r.seats])).join('')
      after = rows[rows.length - 1].key
    }
  }

  private async * seats (): AsyncGenerator<string> {
    yield BOM + csvRow(SEAT_COLUMNS)
    let after: [string, string] = ['00000000-0000-0000-0000-000000000000', '']
    for (;;) {
      const { rows } = await this.pool.query<{ license_id: string, key: string, pcid: string, bound_at: Date }>(
        `SELECT s.license_id, (SELECT l.key FROM license l WHERE l.id = s.license_id) AS key, s.pcid, s.bound_at
           FROM seat s WHERE (s.license_id, s.pcid) > ($1::uuid, $2) ORDER BY s.license_id, s.pcid LIMIT ${BATCH}`, after)
      if (rows.length === 0) return
      yield rows.map((r) => csvRow([r.key, r.pcid, r.bound_at.toISOString()])).join('')
      const last = rows[rows.length - 1]
      after = [last.license_id, last.pcid]
    }
  }

  /** One line per PCID and program it reported; a PCID that reported none has one line without a program. */
  private async * pcids (): AsyncGenerator<string> {
    yield BOM + csvRow(PCID_COLUMNS)
    let after = ''
    for (;;) {
      const { rows } = await this.pool.query<{ id: string, created_at: Date, last_seen_at: Date, program: string | null, version: string | null, serial: string | null, first_seen_at: Date | null, program_seen_at: Date | null }>(
        `SELECT p.id, p.created_at, p.last_seen_at, pp.program, pp.version, pp.serial, pp.first_seen_at, pp.last_seen_at AS program_seen_at
           FROM (SELECT id, created_at, last_seen_at FROM pcid WHERE id > $1 ORDER BY id LIMIT ${BATCH}) p
           LEFT JOIN pcid_program pp ON pp.pcid = p.id
          ORDER BY p.id, pp.program`, [after])
      if (rows.length === 0) return
      yield rows.map((r) => csvRow([r.id, r.program, r.version, r.serial, (r.first_seen_at ?? r.created_at).toISOString(), (r.program_seen_at ?? r.last_seen_at).toISOString()])).join('')
      after = rows[rows.length - 1].id
    }
  }
}
