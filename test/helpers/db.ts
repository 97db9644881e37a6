import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { Test } from 'tap'
import { migrate } from '../../src/db/migrate.js'

/** The server the tests may create databases on (scripts/test.mjs sets it). */
export function adminUrl (): string {
  const url = process.env.DATABASE_URL
  if (url === undefined || url === '') throw new Error('DATABASE_URL is not set: run the tests with `npm test`')
  return url
}

export function databaseUrl (name: string): string {
  const url = new URL(adminUrl())
  url.pathname = `/${name}`
  return url.toString()
}

export async function adminQuery<R extends pg.QueryResultRow = pg.QueryResultRow> (sql: string, params: unknown[] = [], url = adminUrl()): Promise<R[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<R>(sql, params)).rows
  } finally {
    await client.end()
  }
}

/**
 * A fresh database for one test, dropped when the test ends. With `migrated` (the default)
 * it has the project's migrations: a copy of the migrated template that `npm test` makes once
 * per run (IUPDATE_TEST_TEMPLATE, scripts/test.mjs), or migrated here when run without it.
 */
export async function createTestDatabase (t: Test, options: { migrated?: boolean } = {}): Promise<string> {
  const name = `iupdate_test_${process.pid}_${randomBytes(4).toString('hex')}`
  const migrated = options.migrated ?? true
  const template = process.env.IUPDATE_TEST_TEMPLATE
  await adminQuery(migrated && template !== undefined && template !== '' ? `CREATE DATABASE "${name}" TEMPLATE "${template}"` : `CREATE DATABASE "${name}"`)
  t.teardown(async () => { await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) })
  const url = databaseUrl(name)
  if (migrated && (template === undefined || template === '')) await migrate(url)
  return url
}
