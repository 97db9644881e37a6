/**
 * `npm run admin -- <command>`: manage admin API tokens; import and export CSV files.
 *   token create --name <name>   prints a new token once (store it: only its hash is kept)
 *   token revoke <name|id>
 *   token list
 *   import licenses|pcids|seats FILE [--encoding windows-1253]   all lines or none (docs/migration.md)
 *   export licenses|seats|pcids [FILE]                           to FILE, else to standard output
 * Uses DATABASE_URL, or the embedded Postgres in DATA_DIR.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import pino from 'pino'
import { AuditLog } from '../admin/audit-log.js'
import { createAdminToken, revokeAdminToken } from '../admin/bearer-tokens.js'
import { TOKEN_NAME } from '../admin/fields.js'
import { ConfigError, loadConfig } from '../config.js'
import { startEmbeddedPostgres } from '../db/embedded.js'
import { migrate } from '../db/migrate.js'
import { createPool, createPrismaClient, type PrismaClient } from '../db/prisma.js'
import { ApiError } from '../errors.js'
import { CSV_ENCODINGS, type CsvEncoding } from '../license/csv.js'
import { CsvExport, type ExportKind } from '../license/export.js'
import { BulkImport, type ImportKind } from '../license/import.js'

const USAGE = 'usage: npm run admin -- token create --name <name> | token revoke <name|id> | token list\n' +
  '       npm run admin -- import licenses|pcids|seats FILE [--encoding utf-8|windows-1253]\n' +
  '       npm run admin -- export licenses|seats|pcids [FILE]\n'
const VERBS: Record<string, readonly string[]> = { token: ['create', 'revoke', 'list'], import: ['licenses', 'pcids', 'seats'], export: ['licenses', 'seats', 'pcids'] }

const { positionals, values } = parseArgs({ allowPositionals: true, options: { name: { type: 'string' }, encoding: { type: 'string', default: 'utf-8' } } })
const [noun, verb, arg] = positionals
if (!(VERBS[noun ?? '']?.includes(verb ?? '') ?? false) || (noun === 'import' && arg === undefined) || !(CSV_ENCODINGS as readonly string[]).includes(values.encoding)) {
  process.stderr.write(USAGE)
  process.exit(2)
}

try {
  const config = loadConfig()
  const embedded = config.DATABASE_URL === undefined
    ? await startEmbeddedPostgres({ dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, log: pino({ level: 'warn' }), purpose: 'npm run admin', whenInUse: 'share' })
    : undefined
  const url = config.DATABASE_URL ?? embedded!.url
  await migrate(url)
  const pool = createPool(url, 2)
  const prisma = createPrismaClient(url, 2, pool)
  try {
    if (noun === 'import') {
      await importFile(pool, prisma, verb as ImportKind, arg!, values.encoding as CsvEncoding)
    } else if (noun === 'export') {
      await exportFile(pool, verb as ExportKind, arg)
    } else if (verb === 'create') {
      const name = values.name ?? arg
      if (name === undefined || !TOKEN_NAME.test(name)) throw new Error('--name is required: letters, digits, . _ - @ (at most 64)')
      const existing = await prisma.adminToken.findUnique({ where: { name } })
      if (existing !== null) throw new Error(`a token named ${name} exists already`)
      const { id, token } = await createAdminToken(prisma, name)
      process.stdout.write(`Created token ${id} (${name}). It is shown only now:\n${token}\n`)
    } else if (verb === 'revoke') {
      if (arg === undefined) throw new Error('name or id of the token to revoke is required')
      if (!(await revokeAdminToken(prisma, arg))) throw new Error(`no active token ${arg}`)
      process.stdout.write(`Revoked ${arg}.\n`)
    } else {
      for (const t of await prisma.adminToken.findMany({ orderBy: { id: 'asc' } })) {
        process.stdout.write(`${t.id}\t${t.name}\tcreated ${t.createdAt.toISOString()}\t${t.revokedAt === null ? 'active' : `revoked ${t.revokedAt.toISOString()}`}\tlast used ${t.lastUsedAt?.toISOString() ?? 'never'}\n`)
      }
    }
  } finally {
    await prisma.$disconnect()
    await pool.end()
    await embedded?.stop()
  }
} catch (err) {
  process.stderr.write(`${err instanceof ConfigError ? '' : 'admin: '}${(err as Error).message}\n`)
  if (err instanceof ApiError) for (const e of err.errors ?? []) process.stderr.write(`  line ${e.line ?? '?'}: ${e.field}: ${e.message}\n`)
  process.exit(1)
}

/** Imports a file through the same service as the admin API, with a progress bar on a terminal and a summary. */
async function importFile (pool: ReturnType<typeof createPool>, prisma: PrismaClient, kind: ImportKind, file: string, encoding: CsvEncoding): Promise<void> {
  const total = (await stat(file)).size
  let read = 0
  const started = Date.now()
  const bar = progressBar(kind, total)
  const counted = new Transform({ transform (chunk: Buffer, _encoding, done) { read += chunk.length; done(null, chunk) } })
  const source = createReadStream(file).pipe(counted)
  const importer = new BulkImport(pool, { audit: new AuditLog(prisma), changed: () => {} })
  try {
    const { imported } = await importer.import(kind, source, { encoding, actor: 'cli', progress: (lines) => { bar(read, lines) } })
    bar.done()
    const seconds = (Date.now() - started) / 1000
    process.stdout.write(`Imported ${imported.toLocaleString('en')} ${kind} from ${file} in ${seconds.toFixed(1)} s (${Math.round(imported / seconds).toLocaleString('en')} lines/s).\n`)
  } catch (err) {
    bar.done()
    throw err
  }
}

async function exportFile (pool: ReturnType<typeof createPool>, kind: ExportKind, file: string | undefined): Promise<void> {
  let lines = 0
  const count = new Transform({ transform (chunk: string, _encoding, done) { lines += (chunk.match(/\r\n/g) ?? []).length; done(null, chunk) } })
  await pipeline(Readable.from(new CsvExport(pool).lines(kind)), count, file === undefined ? process.stdout : createWriteStream(file))
  if (file !== undefined) process.stdout.write(`Exported ${(lines - 1).toLocaleString('en')} ${kind} to ${file}.\n`)
}

/** A one-line progress bar on standard error when it is a terminal; nothing otherwise. */
function progressBar (kind: string, total: number): ((bytes: number, lines: number) => void) & { done: () => void } {
  const tty = process.stderr.isTTY
  const width = 30
  const draw = (bytes: number, lines: number): void => {
    if (!tty) return
    const share = total === 0 ? 1 : Math.min(1, bytes / total)
    const filled = Math.round(share * width)
    process.stderr.write(`\r${kind} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ${lines.toLocaleString('en')} lines`)
  }
  return Object.assign(draw, { done: () => { if (tty) process.stderr.write('\n') } })
}
