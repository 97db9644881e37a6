/**
 * License import benchmark: a CSV file of BENCH_IMPORT_LINES (1,000,000) licenses, half with
 * a legacy serial of the old system and half without a key (a new key is drawn), imported as
 * `npm run admin -- import licenses` does, all in one transaction. Target: 20,000 lines/s or
 * more, the process's memory not growing with the file (streamed). Reported beside it in the
 * same run: reading and parsing the same file alone (the floor a streamed import stands on).
 * Run: npm run bench:import. DATABASE_URL as for the other benchmarks.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { finished } from 'node:stream/promises'
import { AuditLog } from '../src/admin/audit-log.js'
import { createPool, createPrismaClient } from '../src/db/prisma.js'
import { readCsv } from '../src/license/csv.js'
import { BulkImport } from '../src/license/import.js'
import { benchDatabase } from './lib.js'

const LINES = Number(process.env.BENCH_IMPORT_LINES ?? 1_000_000)

async function writeFile (path: string): Promise<void> {
  const out = createWriteStream(path)
  out.write('key,program,customerName,customerEmail,maintenanceEnd,seatLimit,notes\n')
  for (let i = 0; i < LINES; i++) {
    const key = i % 2 === 0 ? `OLD-${i.toString(36).toUpperCase()}-ΣΝ` : ''
    const line = `${key},ishop,"Πελάτης ${i}, Α.Ε.",customer${i}@example.com,2027-0${1 + (i % 9)}-15,${1 + (i % 5)},imported from the old server\n`
    if (!out.write(line)) await new Promise<void>((resolve) => { out.once('drain', () => { resolve() }) })
  }
  out.end()
  await finished(out)
}

const work = await mkdtemp(join(tmpdir(), 'iupdate-bench-import-'))
const cleanups: Array<() => Promise<unknown>> = [async () => await rm(work, { recursive: true, force: true })]
try {
  const url = await benchDatabase(work, 'iupdate_import', cleanups)
  const pool = createPool(url, 2)
  // Dropping the database at the end ends its connections.
  pool.on('error', () => {})
  const prisma = createPrismaClient(url, 2, pool)
  cleanups.unshift(async () => { await prisma.$disconnect(); await pool.end() })
  await prisma.program.create({ data: { name: 'ishop' } })
  const file = join(work, 'licenses.csv')
  await writeFile(file)
  const bytes = (await stat(file)).size

  let started = performance.now()
  let parsed = 0
  const reader = await readCsv(createReadStream(file), 'utf-8', ['key', 'program'], [])
  for await (const line of reader.lines) parsed = line.line
  const parseSeconds = (performance.now() - started) / 1000

  let peakRss = process.memoryUsage().rss
  const rssBefore = peakRss
  const importer = new BulkImport(pool, { audit: new AuditLog(prisma), changed: () => {} })
  started = performance.now()
  const cpu = process.cpuUsage()
  const { imported } = await importer.import('licenses', createReadStream(file), { encoding: 'utf-8', actor: 'bench', progress: () => { peakRss = Math.max(peakRss, process.memoryUsage().rss) } })
  const importSeconds = (performance.now() - started) / 1000
  const { user, system } = process.cpuUsage(cpu)
  const cpuSeconds = (user + system) / 1e6
  const count = await prisma.license.count()

  console.log(`file: ${LINES.toLocaleString('en')} licenses, ${(bytes / 1024 / 1024).toFixed(0)} MiB`)
  console.log(`parse only: ${parsed.toLocaleString('en')} lines in ${parseSeconds.toFixed(1)} s = ${Math.round(parsed / parseSeconds).toLocaleString('en')} lines/s`)
  console.log(`import:     ${imported.toLocaleString('en')} lines in ${importSeconds.toFixed(1)} s = ${Math.round(imported / importSeconds).toLocaleString('en')} lines/s (target 20,000), ${(100 * parseSeconds / importSeconds).toFixed(0)}% of it parsing`)
  console.log(`            ${Math.round(imported / cpuSeconds).toLocaleString('en')} lines per CPU second of this process (${cpuSeconds.toFixed(1)} s; Postgres's not counted)`)
  console.log(`load:       ${(await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')} (load average on ${availableParallelism()} cores)`)
  console.log(`memory:     rss ${(rssBefore / 1024 / 1024).toFixed(0)} MiB before, ${(peakRss / 1024 / 1024).toFixed(0)} MiB at most during the import`)
  if (count !== LINES) throw new Error(`${count} licenses in the database, expected ${LINES}`)
} finally {
  for (const cleanup of cleanups) await cleanup().catch((err: unknown) => console.error('cleanup:', err))
}
