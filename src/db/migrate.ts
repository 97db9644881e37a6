import { createHash, randomUUID } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import pg from 'pg'
import { MIGRATIONS_DIR } from '../paths.js'

/**
 * Applies prisma/migrations/<name>/migration.sql in name order and records each in
 * Prisma's own `_prisma_migrations` table, with Prisma's checksum (SHA-256 of the file),
 * so that `prisma migrate deploy` and this runner agree on what has been applied.
 *
 * Unlike Prisma, each migration runs inside one transaction together with its record:
 * a failed migration leaves neither half its changes nor a failed row behind.
 * A Postgres advisory lock keeps several starting instances from migrating at once.
 */

export interface Migration {
  name: string
  sql: string
  checksum: string
}

// Same table definition as Prisma's schema engine creates.
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`

// Any fixed number; shared by every instance migrating the same database.
const MIGRATION_LOCK_KEY = 72_707_361

export async function readMigrations (dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort()
  const migrations: Migration[] = []
  for (const name of names) {
    const sql = await readFile(join(dir, name, 'migration.sql'), 'utf8')
    migrations.push({ name, sql, checksum: createHash('sha256').update(sql).digest('hex') })
  }
  return migrations
}

export interface MigrateResult {
  applied: string[]
  alreadyApplied: string[]
  /** Applied migrations whose file changed since (Prisma warns about these too). */
  modified: string[]
}

export class MigrationError extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'MigrationError'
  }
}

export async function migrate (databaseUrl: string, migrations?: Migration[]): Promise<MigrateResult> {
  const list = migrations ?? await readMigrations()
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY])
    await client.query(CREATE_MIGRATIONS_TABLE)
    const { rows } = await client.query<{ migration_name: string, checksum: string, finished_at: Date | null }>(
      'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL'
    )
    const failed = rows.filter((row) => row.finished_at === null).map((row) => row.migration_name)
    if (failed.length > 0) {
      throw new MigrationError(`migration ${failed.join(', ')} failed earlier and is not resolved; fix it with \`prisma migrate resolve\``)
    }
    const done = new Map(rows.map((row) => [row.migration_name, row.checksum]))
    const result: MigrateResult = { applied: [], alreadyApplied: [], modified: [] }
    for (const migration of list) {
      const checksum = done.get(migration.name)
      if (checksum !== undefined) {
        result.alreadyApplied.push(migration.name)
        if (checksum !== migration.checksum) result.modified.push(migration.name)
        continue
      }
      try {
        await client.query('BEGIN')
        await client.query(migration.sql)
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
           VALUES ($1, $2, $3, now(), now(), 1)`,
          [randomUUID(), migration.checksum, migration.name]
        )
        await client.query('COMMIT')
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {})
        throw new MigrationError(`migration ${migration.name} failed: ${(err as Error).message}`, { cause: err })
      }
      result.applied.push(migration.name)
    }
    return result
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {})
    await client.end().catch(() => {})
  }
}

/** Names of migrations on disk that the database has not applied (empty when up to date). */
export async function pendingMigrations (query: (sql: string) => Promise<Array<{ migration_name: string }>>, expected: string[]): Promise<string[]> {
  let applied: Set<string>
  try {
    const rows = await query('SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL')
    applied = new Set(rows.map((row) => row.migration_name))
  } catch (err) {
    // No _prisma_migrations table yet: nothing is applied.
    if ((err as { code?: string }).code === '42P01' || /_prisma_migrations/.test(String((err as Error).message))) return expected
    throw err
  }
  return expected.filter((name) => !applied.has(name))
}

/** The migrations the database behind `pool` has not applied: what /readyz reports. */
export async function pendingOn (pool: Pick<pg.Pool, 'query'>, expected: string[]): Promise<string[]> {
  return await pendingMigrations(async (sql) => (await pool.query<{ migration_name: string }>(sql)).rows, expected)
}
