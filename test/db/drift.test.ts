import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import pg from 'pg'
import { diffSchemas } from '../../src/db/schema-diff.js'
import { PACKAGE_ROOT } from '../../src/paths.js'
import { adminQuery, adminUrl, createTestDatabase } from '../helpers/db.js'

/**
 * The public schema as text, from the catalogs: what a schema-only pg_dump shows (tables,
 * columns with types, defaults and nullability, constraints, indexes, enums), without
 * depending on a pg_dump of the server's major version being installed.
 */
async function describeSchema (url: string): Promise<string> {
  const queries = [
    `SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
            || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
            || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') AS line
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped AND c.relname <> '_prisma_migrations'`,
    `SELECT 'constraint ' || c.relname || ' ' || con.conname || ' ' || pg_get_constraintdef(con.oid) AS line
       FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relname <> '_prisma_migrations'`,
    'SELECT \'index \' || indexdef AS line FROM pg_indexes WHERE schemaname = \'public\' AND tablename <> \'_prisma_migrations\'',
    `SELECT 'enum ' || t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) AS line
       FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = 'public' GROUP BY t.typname`
  ]
  const lines: string[] = []
  for (const sql of queries) lines.push(...(await adminQuery<{ line: string }>(sql, [], url)).map((row) => row.line))
  return lines.sort().join('\n')
}

t.test('schema.prisma and prisma/migrations describe the same database', async (t) => {
  const fromMigrations = await createTestDatabase(t)
  const fromSchema = await createTestDatabase(t, { migrated: false })
  const schema = await readFile(join(PACKAGE_ROOT, 'prisma', 'schema.prisma'), 'utf8')
  const sql = await diffSchemas(null, schema, adminUrl())
  const client = new pg.Client({ connectionString: fromSchema })
  await client.connect()
  await client.query(sql)
  await client.end()
  const a = await describeSchema(fromMigrations)
  const b = await describeSchema(fromSchema)
  t.match(a, /column pcid\.id text not null/, 'the description has the tables')
  t.equal(a, b, 'run `npm run db:diff -- <name>` after changing prisma/schema.prisma')
})
