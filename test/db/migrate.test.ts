import t from 'tap'
import { MigrationError, migrate, readMigrations, type Migration } from '../../src/db/migrate.js'
import { adminQuery, createTestDatabase } from '../helpers/db.js'

t.test('applies every migration once and records it as Prisma does', async (t) => {
  const url = await createTestDatabase(t, { migrated: false })
  const onDisk = await readMigrations()
  t.ok(onDisk.length >= 1)
  const first = await migrate(url)
  t.same(first.applied, onDisk.map((m) => m.name))
  const again = await migrate(url)
  t.same(again.applied, [], 'nothing applied twice')
  t.same(again.alreadyApplied, onDisk.map((m) => m.name))
  const rows = await adminQuery('SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name', [], url)
  t.same(rows.map((r) => r.migration_name), onDisk.map((m) => m.name))
  t.same(rows.map((r) => r.checksum), onDisk.map((m) => m.checksum), 'SHA-256 of migration.sql, as prisma migrate deploy checks')
  t.ok(rows.every((r) => r.finished_at instanceof Date && r.applied_steps_count === 1))
})

t.test('a failing migration leaves nothing behind and can be retried', async (t) => {
  const url = await createTestDatabase(t, { migrated: false })
  const good: Migration = { name: '20000101000000_good', sql: 'CREATE TABLE a (id int);', checksum: 'x' }
  const bad: Migration = { name: '20000101000001_bad', sql: 'CREATE TABLE b (id int); SELECT * FROM missing_table;', checksum: 'y' }
  await t.rejects(migrate(url, [good, bad]), MigrationError)
  const tables = await adminQuery("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1", [], url)
  t.same(tables.map((r) => r.table_name), ['_prisma_migrations', 'a'], 'b was rolled back with its record')
  const recorded = await adminQuery('SELECT migration_name FROM "_prisma_migrations"', [], url)
  t.same(recorded.map((r) => r.migration_name), [good.name])
  const fixed = { ...bad, sql: 'CREATE TABLE b (id int);' }
  t.same((await migrate(url, [good, fixed])).applied, [bad.name])
})

t.test('an edited applied migration is reported', async (t) => {
  const url = await createTestDatabase(t, { migrated: false })
  const m: Migration = { name: '20000101000000_x', sql: 'CREATE TABLE x (id int);', checksum: 'one' }
  await migrate(url, [m])
  t.same((await migrate(url, [{ ...m, checksum: 'two' }])).modified, [m.name])
})

t.test('a migration Prisma recorded as failed stops start-up with a clear message', async (t) => {
  const url = await createTestDatabase(t, { migrated: false })
  await migrate(url, [])
  await adminQuery('INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES (\'1\', \'c\', \'20000101000000_broken\', now())', [], url)
  await t.rejects(migrate(url), { message: /20000101000000_broken failed earlier/ })
})

t.test('several instances starting at once migrate once', async (t) => {
  const url = await createTestDatabase(t, { migrated: false })
  const results = await Promise.all([migrate(url), migrate(url), migrate(url)])
  const applied = results.flatMap((r) => r.applied)
  t.same(applied.sort(), (await readMigrations()).map((m) => m.name).sort())
})
