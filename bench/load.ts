/**
 * Load at scale: qrymaxver against a seeded database of 100 programs, 100,000 licenses and
 * 200,000 PCIDs (each license in use by one PC, as after a first poll), polled by many
 * different clients, next to an empty Fastify route measured in the same run.
 * Run: npm run bench:load   (DATABASE_URL as for the other benchmarks; BENCH_SECONDS, 10)
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import pg from 'pg'
import { generateKey } from '../src/license/key.js'
import { benchDatabase, freePort, rssMiB, startNode, stop, waitForOk } from './lib.js'

const PROGRAMS = 100
const LICENSES = 100_000
const PCIDS = 200_000
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)

const work = await mkdtemp(join(tmpdir(), 'iupdate-load-'))
await chmod(work, 0o755)
const cleanups: Array<() => Promise<unknown>> = [async () => await rm(work, { recursive: true, force: true })]
try {
  const url = new URL(await benchDatabase(work, 'iupdate_load', cleanups))

  console.log(`seeding ${PROGRAMS} programs, ${LICENSES.toLocaleString()} licenses, ${PCIDS.toLocaleString()} PCIDs`)
  let started = performance.now()
  const db = new pg.Client({ connectionString: url.toString() })
  await db.connect()
  await db.query(`INSERT INTO program (name, updated_at) SELECT 'prog' || i, now() FROM generate_series(0, ${PROGRAMS - 1}) i`)
  await db.query(`INSERT INTO pcid (id, address, program) SELECT upper(substr(md5(i::text) || md5((-i)::text), 1, 26)), '10.0.0.1', 'prog' || (i % ${PROGRAMS}) FROM generate_series(0, ${PCIDS - 1}) i`)
  const pcids = (await db.query<{ id: string }>(`SELECT id FROM pcid ORDER BY id LIMIT ${LICENSES}`)).rows.map((r) => r.id)
  const keys: string[] = []
  for (let from = 0; from < LICENSES; from += 5000) {
    const batch = Array.from({ length: Math.min(5000, LICENSES - from) }, (_, j) => {
      const i = from + j
      const key = generateKey(`prog${i % PROGRAMS}`)
      keys.push(key)
      return [key, i % PROGRAMS]
    })
    await db.query(`INSERT INTO license (id, key, program_id, customer_name, seat_limit, updated_at)
      SELECT gen_random_uuid(), k, p.id, 'Customer', 2, now() FROM unnest($1::text[], $2::int[]) AS t(k, n) JOIN program p ON p.name = 'prog' || t.n`, [batch.map((b) => b[0]), batch.map((b) => b[1])])
  }
  await db.query('INSERT INTO seat (license_id, pcid) SELECT l.id, x.pcid FROM unnest($1::text[], $2::text[]) AS x(key, pcid) JOIN license l ON l.key = x.key', [keys, pcids])
  await db.query('ANALYZE')
  await db.end()
  const ftp = join(work, 'ftp')
  for (let p = 0; p < PROGRAMS; p++) {
    for (const version of ['1.0.0', '2.0.0']) {
      await mkdir(join(ftp, `prog${p}`, version), { recursive: true })
      await writeFile(join(ftp, `prog${p}`, version, 'setup.exe'), `prog${p} ${version}`)
    }
  }
  console.log(`seeded in ${((performance.now() - started) / 1000).toFixed(1)} s`)

  const port = await freePort()
  const server = startNode('dist/src/server.js', { DATABASE_URL: url.toString(), PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', FTP_ROOT: ftp, DATA_DIR: join(work, 'data'), RATE_LIMIT_MAX: '1000000000', REPO_SETTLE_MS: '0', MIGRATE_ON_START: 'false' })
  cleanups.unshift(async () => await stop(server))
  const refPort = await freePort()
  const reference = startNode('dist/bench/empty-server.js', { PORT: String(refPort) })
  cleanups.unshift(async () => await stop(reference))
  await waitForOk(`http://127.0.0.1:${port}/readyz`)
  await waitForOk(`http://127.0.0.1:${refPort}/empty`)

  // Every request a different PC of the 100,000 with licenses: a daily poll with nothing new.
  const paths = pcids.map((pcid, i) => `/myweb/iupdate.php?f=qrymaxver&prog[]=prog${i % PROGRAMS}&version[]=2.0.0&serial[]=${keys[i]}&pcid=${pcid}`)
  const check = await (await fetch(`http://127.0.0.1:${port}${paths[0]}`)).text()
  if (!/LICENSE\[0\]=ey/.test(check)) throw new Error(`unexpected answer:\n${check}`)
  let next = 0
  const run = async (target: string, many: boolean): Promise<autocannon.Result> => await autocannon({
    url: target,
    connections: 50,
    duration: SECONDS,
    ...(many ? { requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, path: paths[next++ % paths.length] }) }] } : {})
  })
  await run(`http://127.0.0.1:${refPort}/empty`, false)
  const pid = server.pid ?? 0
  const idle = await rssMiB(pid)
  const refPid = reference.pid ?? 0
  let refPeak = await rssMiB(refPid)
  const refSampler = setInterval(() => { rssMiB(refPid).then((m) => { refPeak = Math.max(refPeak, m) }).catch(() => {}) }, 200)
  const empty = await run(`http://127.0.0.1:${refPort}/empty`, false)
  clearInterval(refSampler)
  let peak = idle
  const sampler = setInterval(() => { rssMiB(pid).then((m) => { peak = Math.max(peak, m) }).catch(() => {}) }, 200)
  started = performance.now()
  const load = await run(`http://127.0.0.1:${port}/`, true)
  clearInterval(sampler)
  console.log(`\nqrymaxver, ${next.toLocaleString()} requests from ${Math.min(next, paths.length).toLocaleString()} different licensed PCs, nothing new (${SECONDS} s, 50 connections)`)
  console.log(`  empty Fastify route   ${empty.requests.average.toFixed(0).padStart(7)} req/s   p99 ${empty.latency.p99} ms`)
  console.log(`  qrymaxver             ${load.requests.average.toFixed(0).padStart(7)} req/s   p99 ${load.latency.p99} ms   errors ${load.errors + load.non2xx}   ${(100 * load.requests.average / empty.requests.average).toFixed(0)}% of the empty route`)
  console.log(`  p99                   ${load.latency.p99} ms against ${empty.latency.p99} ms: ${(load.latency.p99 / Math.max(1, empty.latency.p99)).toFixed(1)}×`)
  console.log(`  memory (RSS)          ${idle.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB at most; the empty route's server ${refPeak.toFixed(0)} MiB: ${(peak / refPeak).toFixed(1)}×`)
  const perDay = load.requests.average * 86_400
  console.log(`  at this rate one instance answers ${(perDay / 1e6).toFixed(0)} million polls a day`)
} finally {
  for (const cleanup of cleanups) await cleanup().catch((err: unknown) => console.error('cleanup:', err))
}
