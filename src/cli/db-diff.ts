/**
 * Writes a new migration from the change to prisma/schema.prisma:
 *   npm run db:diff -- <name> [--from <old schema file>]
 * The old schema defaults to prisma/schema.prisma as committed at HEAD (empty when there
 * are no migrations yet). The drift test fails if the migrations and the schema disagree.
 */
import { execFileSync } from 'node:child_process'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pino from 'pino'
import { loadConfig } from '../config.js'
import { startEmbeddedPostgres } from '../db/embedded.js'
import { diffSchemas } from '../db/schema-diff.js'
import { MIGRATIONS_DIR, PACKAGE_ROOT } from '../paths.js'

const { positionals, values } = parseArgs({ allowPositionals: true, options: { from: { type: 'string' } } })
const name = positionals[0]
if (name === undefined || !/^[a-z0-9_]+$/.test(name)) {
  process.stderr.write('usage: npm run db:diff -- <name_in_snake_case> [--from old-schema.prisma]\n')
  process.exit(2)
}

const existing = (await readdir(MIGRATIONS_DIR, { withFileTypes: true }).catch(() => [])).filter((entry) => entry.isDirectory())
let from: string | null = null
if (values.from !== undefined) from = await readFile(values.from, 'utf8')
else if (existing.length > 0) from = execFileSync('git', ['show', 'HEAD:prisma/schema.prisma'], { cwd: PACKAGE_ROOT, encoding: 'utf8' })
const to = await readFile(join(PACKAGE_ROOT, 'prisma', 'schema.prisma'), 'utf8')

const config = loadConfig()
const embedded = config.DATABASE_URL === undefined
  ? await startEmbeddedPostgres({ dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, log: pino({ level: 'warn' }), purpose: 'npm run db:diff', whenInUse: 'share' })
  : undefined
const sql = await diffSchemas(from, to, config.DATABASE_URL ?? embedded!.url).finally(async () => await embedded?.stop())
if (sql.trim() === '' || /^-- This is an empty migration\.?\s*$/.test(sql.trim())) {
  process.stdout.write('No schema changes: no migration written.\n')
  process.exit(0)
}
const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14)
const dir = join(MIGRATIONS_DIR, `${stamp}_${name}`)
await mkdir(dir, { recursive: true })
await writeFile(join(dir, 'migration.sql'), sql)
process.stdout.write(`Wrote ${join('prisma', 'migrations', `${stamp}_${name}`, 'migration.sql')}\n`)
