/**
 * Import benchmark: the three imports of a migration (docs/migration.md) at the size of a
 * customer base, as `npm run admin -- import licenses|pcids|seats` runs them, each in one
 * transaction: BENCH_IMPORT_LINES (1,000,000) licenses, half with a legacy serial of the old
 * system and half without a key (a new key is drawn); as many PCIDs, each with its program,
 * version and (for the legacy half) serial; and the seats of the legacy licenses (one or two
 * PCs each, within their seat limits: 90% of the licenses' count). Target: 20,000 lines/s or
 * more for each, the process's memory not growing with the file (streamed). Reported beside it
 * in the same run: reading and parsing the license file alone (the floor a streamed import
 * stands on). Run: npm run bench:import. DATABASE_URL as for the other benchmarks.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { finished } from 'node:stream/promises'
import { AuditLog } from '../src/admin/audit-log.js'
import { createPool, createPrismaClient } from '../src/db/prisma.js'
import { readCsv } from '../src/license/csv.js'
import { BulkImport, type ImportKind } from '../src/license/import.js'
import { benchDatabase } from './lib.js'

const LINES = Number(process.env.BENCH_IMPORT_LINES ?? 1_000_000)
const TARGET = 20_000

const serial = (i: number): string => `OLD-${i.toString(36).toUpperCase()}-ΣΝ`

/** A CSV file of `header` and the lines `line(i)` gives for i in [0, LINES) (undefined: none). */
async function writeFile (path: string, header: string, line: (i: number) => string | undefined): Promise<number> {
  const out = createWriteStream(path)
  out.write(header + '\n')
  let lines = 0
  for (let i = 0; i < LINES; i++) {
    const text = line(i)
    if (text === undefined) continue
    lines += text.split('\n').length - 1
    if (!out.write(text)) await new Promise<void>((resolve) => { out.once('drain', () => { resolve() }) })
  }
  out.end()
  await finished(out)
  return lines
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
  const pcid = (i: number): string => `PC${String(i).padStart(10, '0')}`
  const files: Array<{ kind: ImportKind, table: () => Promise<number>, write: (path: string) => Promise<number> }> = [
    {
      kind: 'licenses',
      table: async () => await prisma.license.count(),
      write: async (path) => await writeFile(path, 'key,program,customerName,customerEmail,maintenanceEnd,seatLimit,notes', (i) =>
        `${i % 2 === 0 ? serial(i) : ''},ishop,"Πελάτης ${i}, Α.Ε.",customer${i}@example.com,2027-0${1 + (i % 9)}-15,${1 + (i % 5)},imported from the old server\n`)
    },
    {
      kind: 'pcids',
      table: async () => await prisma.pcidProgram.count(),
      write: async (path) => await writeFile(path, 'pcid,program,version,serial,firstSeen,lastSeen', (i) =>
        `${pcid(i)},ishop,1.${i % 7},${i % 2 === 0 ? serial(i) : ''},2025-0${1 + (i % 9)}-01T08:00:00Z,2026-11-${10 + (i % 19)}T09:30:00Z\n`)
    },
    {
      kind: 'seats',
      table: async () => await prisma.seat.count(),
      // A legacy license of seat limit 1 + i % 5 holds its own PC's seat, and the next PC's when its limit allows.
      write: async (path) => await writeFile(path, 'serial,pcid,boundAt', (i) => i % 2 !== 0
        ? undefined
        : `${serial(i)},${pcid(i)},2025-03-01T10:00:00Z\n` + (i % 5 === 0 ? '' : `${serial(i)},${pcid(i + 1)},2025-04-01T10:00:00Z\n`))
    }
  ]
  const importer = new BulkImport(pool, { audit: new AuditLog(prisma), changed: () => {} })
  const verdicts: string[] = []
  for (const { kind, table, write } of files) {
    const file = join(work, `${kind}.csv`)
    const lines = await write(file)
    const bytes = (await stat(file)).size
    console.log(`${kind}: ${lines.toLocaleString('en')} lines, ${(bytes / 1024 / 1024).toFixed(0)} MiB`)
    if (kind === 'licenses') {
      const started = performance.now()
      let parsed = 0
      const reader = await readCsv(createReadStream(file), 'utf-8', ['key', 'program'], [])
      for await (const line of reader.lines) parsed = line.line
      const seconds = (performance.now() - started) / 1000
      console.log(`  parse only: ${parsed.toLocaleString('en')} lines in ${seconds.toFixed(1)} s = ${Math.round(parsed / seconds).toLocaleString('en')} lines/s`)
    }
    let peakRss = process.memoryUsage().rss
    const rssBefore = peakRss
    const started = performance.now()
    const cpu = process.cpuUsage()
    const { imported } = await importer.import(kind, createReadStream(file), { encoding: 'utf-8', actor: 'bench', progress: () => { peakRss = Math.max(peakRss, process.memoryUsage().rss) } })
    const seconds = (performance.now() - started) / 1000
    const { user, system } = process.cpuUsage(cpu)
    const cpuSeconds = (user + system) / 1e6
    const rate = Math.round(imported / seconds)
    console.log(`  import:     ${imported.toLocaleString('en')} lines in ${seconds.toFixed(1)} s = ${rate.toLocaleString('en')} lines/s (target ${TARGET.toLocaleString('en')})`)
    console.log(`              ${Math.round(imported / cpuSeconds).toLocaleString('en')} lines per CPU second of this process (${cpuSeconds.toFixed(1)} s; Postgres's not counted)`)
    console.log(`  load:       ${(await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')} (load average on ${availableParallelism()} cores)`)
    console.log(`  memory:     rss ${(rssBefore / 1024 / 1024).toFixed(0)} MiB before, ${(peakRss / 1024 / 1024).toFixed(0)} MiB at most during the import`)
    const count = await table()
    if (count !== lines) throw new Error(`${count} ${kind} in the database, expected ${lines}`)
    verdicts.push(`${rate >= TARGET ? 'met' : 'missed'}: ${kind} import ${rate.toLocaleString('en')} lines/s (target ${TARGET.toLocaleString('en')} or more)`)
  }
  console.log('')
  for (const verdict of verdicts) console.log(verdict)
} finally {
  for (const cleanup of cleanups) await cleanup().catch((err: unknown) => console.error('cleanup:', err))
}
