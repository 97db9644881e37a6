import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { finished } from 'node:stream/promises'
import type pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { z } from 'zod'
import type { AuditLog } from '../admin/audit-log.js'
import { endDate, instant, programName, text, versionName } from '../admin/fields.js'
import { CHANNELS } from '../catalog/release-control.js'
import { ApiError, badRequest, type FieldError } from '../errors.js'
import { CsvUnreadable, readCsv, unneutralise, type CsvEncoding } from './csv.js'
import { licenseFields, licenseStatus } from './fields.js'
import { generateKey, keyIsForProgram, validateKey } from './key.js'
import { isLegacyPcid, isLegacySerial, serialLookup } from './serial.js'

/**
 * Imports of licenses, PCIDs and seats from CSV (docs/migration.md, docs/admin-api.md "CSV
 * import"), at the size of a customer base: the file is streamed, every line checked, and
 * the lines loaded in batches into a temporary table inside one transaction; checks that need
 * the whole file or the database (duplicates, unknown serials, seat limits) run there, and
 * only then are the rows moved into place. All lines or none.
 */

export type ImportKind = 'licenses' | 'pcids' | 'seats'

export interface ImportOptions {
  encoding: CsvEncoding
  actor: string
  /** Told the lines read so far, after each batch. */
  progress?: (lines: number) => void
}

/** Line errors reported at most (all are counted): enough to fix a file, short enough to read. */
export const MAX_LINE_ERRORS = 100
/** Lines sent to COPY at a time. */
const COPY_LINES = 2000

type Cells = Record<string, string | undefined>
type Value = string | number | boolean | Date | null
/** A line checked: its values in the temporary table's column order, or its errors. */
type Checked = { ok: true, values: Value[] } | { ok: false, errors: Array<{ field: string, message: string }> }

interface Kind {
  /** The columns a header may name, and their order when there is none. */
  known: readonly string[]
  defaults: readonly string[]
  /** The temporary table: its columns after `line`, with their types. */
  columns: ReadonlyArray<readonly [string, string]>
  check: (cells: Cells) => Checked
  /** Errors only the whole file and the database show: each query returns (line, field, message, total). */
  checks: string[]
  /** Moves the rows into place; returns nothing. */
  load: string[]
  /** Taken before the checks that read what others may change meanwhile. */
  lock?: string
  /** Run after the lines are stored, before the checks. */
  prepare?: (client: pg.PoolClient) => Promise<void>
}

const optional = <T extends z.ZodType>(schema: T): z.ZodOptional<T> => schema.optional()

const licenseLine = z.object({
  program: programName,
  customerName: licenseFields.customerName,
  customerEmail: optional(z.email().max(200)),
  status: optional(licenseStatus),
  maintenanceEnd: optional(endDate),
  seatLimit: optional(z.coerce.number().int().min(1).max(100_000)),
  notes: optional(text(5000)),
  channel: optional(z.enum(CHANNELS)),
  pin: optional(versionName)
})

const pcidLine = z.object({
  pcid: z.string().refine(isLegacyPcid, 'a PCID: 1 to 64 characters, no spaces or control characters'),
  program: optional(programName),
  version: optional(text(64)),
  serial: optional(z.string().refine(isLegacySerial, 'a serial: 1 to 64 characters, no control characters')),
  firstSeen: optional(instant),
  lastSeen: optional(instant)
}).refine((line) => line.program === undefined || line.version !== undefined, { path: ['version'], message: 'a PCID\'s program needs its version' })

const seatLine = z.object({
  serial: z.string().refine(isLegacySerial, 'a serial: 1 to 64 characters, no control characters'),
  pcid: z.string().refine(isLegacyPcid, 'a PCID: 1 to 64 characters, no spaces or control characters'),
  boundAt: optional(instant)
})

function issues (error: z.ZodError): Array<{ field: string, message: string }> {
  return error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message }))
}

/** Errors beyond the first of a (line, field) kind, in SQL: every line of a group but its first. */
const duplicates = (table: string, group: string, field: string, message: string): string => `
  SELECT line, '${field}' AS field, '${message}' AS message, count(*) OVER ()::int AS total
    FROM (SELECT line, row_number() OVER (PARTITION BY ${group} ORDER BY line) AS n FROM ${table}) d
   WHERE n > 1 ORDER BY line LIMIT ${MAX_LINE_ERRORS}`

function licensesKind (programs: Map<string, { id: number, name: string }>, draw: (program: string) => string): Kind {
  return {
    known: ['key', 'program', 'customerName', 'customerEmail', 'status', 'maintenanceEnd', 'seatLimit', 'notes', 'channel', 'pin'],
    defaults: ['program', 'customerName', 'customerEmail', 'maintenanceEnd', 'seatLimit', 'notes'],
    columns: [['key', 'text'], ['generated', 'bool'], ['program_id', 'int4'], ['customer_name', 'text'], ['customer_email', 'text'], ['status', 'text'], ['maintenance_end', 'timestamptz'], ['seat_limit', 'int4'], ['notes', 'text'], ['channel', 'text'], ['pin', 'text']],
    check: (cells) => {
      const result = licenseLine.safeParse({ ...cells, customerName: cells.customerName ?? '' })
      const errors = result.success ? [] : issues(result.error)
      const program = result.success ? programs.get(result.data.program) : undefined
      if (result.success && program === undefined) errors.push({ field: 'program', message: `unknown program ${result.data.program}` })
      let key: string | undefined
      const given = cells.key
      if (given === undefined) {
        if (program !== undefined) key = draw(program.name)
      } else {
        const check = validateKey(given)
        if (check.valid) {
          if (program !== undefined && !keyIsForProgram(check, program.name)) errors.push({ field: 'key', message: `a key of another program than ${program.name}` })
          key = check.key
        } else if (isLegacySerial(given)) {
          key = given
        } else {
          errors.push({ field: 'key', message: 'a key or serial: 1 to 64 characters, no control characters' })
        }
      }
      if (!result.success || program === undefined || key === undefined || errors.length > 0) return { ok: false, errors }
      const l = result.data
      return { ok: true, values: [key, given === undefined, program.id, l.customerName, l.customerEmail ?? null, l.status ?? 'active', l.maintenanceEnd ?? null, l.seatLimit ?? 1, l.notes ?? null, l.channel ?? 'stable', l.pin ?? null] }
    },
    prepare: async (client) => { await redrawClashes(client, draw) },
    checks: [
      duplicates('import_rows', 'key', 'key', 'the same key or serial is on an earlier line'),
      `SELECT s.line, 'key' AS field, 'a license with this key or serial exists already' AS message, count(*) OVER ()::int AS total
         FROM import_rows s JOIN license l ON l.key = s.key ORDER BY s.line LIMIT ${MAX_LINE_ERRORS}`
    ],
    load: [`INSERT INTO license (id, key, program_id, customer_name, customer_email, status, maintenance_end, seat_limit, notes, channel, pin, created_at, updated_at)
            SELECT gen_random_uuid(), key, program_id, customer_name, customer_email, status::license_status, maintenance_end, seat_limit, notes, channel::release_channel, pin, now(), now()
              FROM import_rows ORDER BY key`]
  }
}

/** New keys from random bytes read 4,096 keys at a time: one system call per key was a fifth of an import's time. */
function pooledKeys (): (program: string) => string {
  let random = Buffer.alloc(0)
  let at = 0
  return (program) => {
    if (at + 12 > random.length) {
      random = randomBytes(12 * 4096)
      at = 0
    }
    at += 12
    return generateKey(program, random.subarray(at - 12, at))
  }
}

/** How often a clashing new key is drawn again: a clash of 90 random bits twice in a row is not luck. */
const KEY_DRAWS = 4

/**
 * New keys that are taken already (by a license, a key given on another line, or another new
 * key) are drawn again, so that only the keys a file names can clash.
 */
async function redrawClashes (client: pg.PoolClient, draw: (program: string) => string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const { rows } = await client.query<{ line: number, program: string }>(`
      SELECT d.line, (SELECT p.name FROM program p WHERE p.id = d.program_id) AS program
        FROM (SELECT line, generated, key, program_id, row_number() OVER (PARTITION BY key ORDER BY generated, line) AS n FROM import_rows) d
       WHERE d.generated AND (d.n > 1 OR EXISTS (SELECT 1 FROM license l WHERE l.key = d.key))`)
    if (rows.length === 0) return
    if (attempt > KEY_DRAWS) throw new Error(`no free license key after ${KEY_DRAWS} draws`)
    await client.query('UPDATE import_rows s SET key = r.key FROM unnest($1::int4[], $2::text[]) AS r(line, key) WHERE s.line = r.line',
      [rows.map((r) => r.line), rows.map((r) => draw(r.program))])
  }
}

const pcidsKind: Kind = {
  known: ['pcid', 'program', 'version', 'serial', 'firstSeen', 'lastSeen'],
  defaults: ['pcid', 'program', 'version', 'serial', 'firstSeen', 'lastSeen'],
  columns: [['pcid', 'text'], ['program', 'text'], ['version', 'text'], ['serial', 'text'], ['first_seen', 'timestamptz'], ['last_seen', 'timestamptz']],
  check: (cells) => {
    const result = pcidLine.safeParse(cells)
    if (!result.success) return { ok: false, errors: issues(result.error) }
    const p = result.data
    const now = new Date()
    const serial = p.serial === undefined ? null : serialLookup(p.serial) ?? p.serial
    return { ok: true, values: [p.pcid, p.program ?? null, p.program === undefined ? null : p.version ?? null, serial, p.firstSeen ?? now, p.lastSeen ?? p.firstSeen ?? now] }
  },
  checks: [
    duplicates('import_rows WHERE program IS NOT NULL', 'pcid, program', 'program', 'the same PCID and program are on an earlier line'),
    duplicates('import_rows WHERE program IS NULL', 'pcid', 'pcid', 'the same PCID is on an earlier line'),
    `SELECT s.line, 'program' AS field, 'this PCID and program are known already' AS message, count(*) OVER ()::int AS total
       FROM import_rows s JOIN pcid_program p ON p.pcid = s.pcid AND p.program = s.program ORDER BY s.line LIMIT ${MAX_LINE_ERRORS}`
  ],
  load: [
    // A PCID that has met this server already keeps its own row.
    `INSERT INTO pcid (id, created_at, last_seen_at, address)
       SELECT pcid, min(first_seen), max(last_seen), 'imported' FROM import_rows GROUP BY pcid
       ON CONFLICT (id) DO NOTHING`,
    `INSERT INTO pcid_program (pcid, program, version, serial, first_seen_at, last_seen_at)
       SELECT pcid, program, version, serial, first_seen, last_seen FROM import_rows WHERE program IS NOT NULL`
  ]
}

const seatsKind: Kind = {
  known: ['serial', 'pcid', 'boundAt'],
  defaults: ['serial', 'pcid', 'boundAt'],
  columns: [['serial', 'text'], ['pcid', 'text'], ['bound_at', 'timestamptz']],
  check: (cells) => {
    const result = seatLine.safeParse(cells)
    if (!result.success) return { ok: false, errors: issues(result.error) }
    const s = result.data
    return { ok: true, values: [serialLookup(s.serial) ?? s.serial, s.pcid, s.boundAt ?? new Date()] }
  },
  // Seats bound by polls meanwhile would escape the limit check: they wait for the import (reads go on).
  lock: 'LOCK TABLE seat IN EXCLUSIVE MODE',
  checks: [
    `SELECT s.line, 'serial' AS field, 'no license has this key or serial' AS message, count(*) OVER ()::int AS total
       FROM import_rows s WHERE NOT EXISTS (SELECT 1 FROM license l WHERE l.key = s.serial) ORDER BY s.line LIMIT ${MAX_LINE_ERRORS}`,
    `SELECT s.line, 'pcid' AS field, 'no such PCID (import the PCIDs first)' AS message, count(*) OVER ()::int AS total
       FROM import_rows s WHERE NOT EXISTS (SELECT 1 FROM pcid p WHERE p.id = s.pcid) ORDER BY s.line LIMIT ${MAX_LINE_ERRORS}`,
    duplicates('import_rows', 'serial, pcid', 'pcid', 'the same seat is on an earlier line'),
    `SELECT s.line, 'pcid' AS field, 'this PCID holds a seat of this license already' AS message, count(*) OVER ()::int AS total
       FROM import_rows s JOIN license l ON l.key = s.serial JOIN seat e ON e.license_id = l.id AND e.pcid = s.pcid ORDER BY s.line LIMIT ${MAX_LINE_ERRORS}`,
    `SELECT line, 'serial' AS field, 'beyond the license''s seat limit' AS message, count(*) OVER ()::int AS total
       FROM (SELECT s.line, l.seat_limit, coalesce(t.taken, 0) + row_number() OVER (PARTITION BY l.id ORDER BY s.line) AS n
               FROM import_rows s JOIN license l ON l.key = s.serial
               LEFT JOIN (SELECT license_id, count(*) AS taken FROM seat GROUP BY license_id) t ON t.license_id = l.id) x
      WHERE n > seat_limit ORDER BY line LIMIT ${MAX_LINE_ERRORS}`
  ],
  load: [`INSERT INTO seat (license_id, pcid, bound_at, last_seen_at)
            SELECT l.id, s.pcid, s.bound_at, s.bound_at FROM import_rows s JOIN license l ON l.key = s.serial`]
}

const AUDIT_ACTIONS: Record<ImportKind, string> = { licenses: 'license.import', pcids: 'pcid.import', seats: 'seat.import' }

/** The errors of a refused import: the first MAX_LINE_ERRORS in line order, and how many there are. */
class LineErrors {
  readonly list: FieldError[] = []
  total = 0

  add (line: number, field: string, message: string): void {
    this.total++
    if (this.list.length < MAX_LINE_ERRORS) this.list.push({ line, field, message })
  }

  merge (rows: Array<{ line: number, field: string, message: string, total: number }>): void {
    this.total += rows[0]?.total ?? 0
    this.list.push(...rows.map(({ line, field, message }) => ({ line, field, message })))
    this.list.sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
    this.list.length = Math.min(this.list.length, MAX_LINE_ERRORS)
  }

  refusal (lines: number): ApiError {
    return new ApiError(422, 'UNPROCESSABLE_CONTENT', `${this.total.toLocaleString('en')} errors in ${lines.toLocaleString('en')} lines; nothing was imported.`, this.list)
  }
}

export class BulkImport {
  constructor (private readonly pool: pg.Pool, private readonly options: { audit: AuditLog, changed: () => void, generateKey?: (program: string) => string }) {}

  /** Imports every line of `source` or none; returns how many were imported. Refusals are ApiErrors (422 with the lines' errors). */
  async import (kind: ImportKind, source: AsyncIterable<Buffer | string> | string | Buffer, options: ImportOptions): Promise<{ imported: number }> {
    const client = await this.pool.connect()
    let failed = true
    try {
      await client.query('BEGIN')
      // The checks and the load sort the whole file: in memory rather than in temporary files.
      await client.query("SET LOCAL work_mem = '128MB'")
      const spec = kind === 'licenses' ? licensesKind(await this.programs(client), this.options.generateKey ?? pooledKeys()) : kind === 'pcids' ? pcidsKind : seatsKind
      const lines = await this.stage(client, spec, source, options)
      if (lines.errors.total === 0) await spec.prepare?.(client)
      if (spec.lock !== undefined) await client.query(spec.lock)
      const errors = lines.errors
      for (const check of spec.checks) errors.merge((await client.query<{ line: number, field: string, message: string, total: number }>(check)).rows)
      if (errors.total > 0) throw errors.refusal(lines.count)
      for (const statement of spec.load) await client.query(statement)
      await client.query('COMMIT')
      failed = false
      this.options.changed()
      await this.options.audit.record(options.actor, AUDIT_ACTIONS[kind], `${lines.count} ${kind}`, { imported: lines.count })
      return { imported: lines.count }
    } finally {
      if (failed) await client.query('ROLLBACK').catch(() => {})
      client.release()
    }
  }

  private async programs (client: pg.PoolClient): Promise<Map<string, { id: number, name: string }>> {
    const { rows } = await client.query<{ id: number, name: string }>('SELECT id, name FROM program')
    return new Map(rows.map((row) => [row.name, row]))
  }

  /** Reads, checks and stores every line in the temporary table import_rows (COPY, in the text format). */
  private async stage (client: pg.PoolClient, spec: Kind, source: AsyncIterable<Buffer | string> | string | Buffer, options: ImportOptions): Promise<{ count: number, errors: LineErrors }> {
    await client.query(`CREATE TEMPORARY TABLE import_rows (line int4 NOT NULL, ${spec.columns.map(([name, type]) => `${name} ${type}`).join(', ')}) ON COMMIT DROP`)
    const reader = await readCsv(source, options.encoding, spec.known, spec.defaults)
    const errors = new LineErrors()
    const copy = client.query(copyFrom('COPY import_rows FROM STDIN'))
    const copied = finished(copy)
    copied.catch(() => {})
    let chunk = ''
    let count = 0
    let stored = 0
    let unreadable = false
    // Postgres stores a chunk while the next lines are read.
    const write = async (): Promise<void> => {
      const ok = copy.write(chunk)
      chunk = ''
      options.progress?.(count)
      if (!ok) await Promise.race([once(copy, 'drain'), copied])
    }
    try {
      for await (const { line, cells } of reader.lines) {
        count = line
        const columns = reader.columns
        const values: Cells = {}
        for (let i = 0; i < columns.length; i++) {
          const cell = cells[i]
          if (cell !== undefined && cell !== '') values[columns[i]] = unneutralise(cell)
        }
        const checked = spec.check(values)
        if (!checked.ok) {
          for (const error of checked.errors) errors.add(line, error.field, error.message)
          continue
        }
        // Once a line is bad nothing more is stored; the rest is only checked.
        if (errors.total > 0) continue
        chunk += copyRow(line, checked.values)
        if (++stored % COPY_LINES === 0) await write()
      }
    } catch (err) {
      if (!(err instanceof CsvUnreadable)) throw err
      errors.add(err.line, 'line', err.message)
      unreadable = true
    } finally {
      copy.end(chunk)
      await copied
    }
    // Reading stopped at that line: the checks of the whole file would be of part of it.
    if (unreadable) throw errors.refusal(count)
    if (count === 0) throw badRequest('The CSV has no lines.')
    options.progress?.(count)
    return { count, errors }
  }
}

/** A row in COPY's text format: tab-separated, \N for null, backslash escapes. */
function copyRow (line: number, values: readonly Value[]): string {
  let row = String(line)
  for (const value of values) {
    row += '\t'
    if (value === null) row += '\\N'
    else if (value instanceof Date) row += value.toISOString()
    else if (typeof value === 'string') row += COPY_SPECIAL.test(value) ? value.replace(COPY_ESCAPES, (c) => COPY_ESCAPE[c]) : value
    else row += String(value)
  }
  return row + '\n'
}

const COPY_SPECIAL = /[\\\t\n\r]/
const COPY_ESCAPES = /[\\\t\n\r]/g
const COPY_ESCAPE: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' }
