/**
 * The analytics API on a year of history of a large installed base: BENCH_PCS (1,000,000)
 * installations of one program with 12 versions released a month apart, a year of install_day
 * counts by version and channel, the last two versions offered to every PC (version_offer),
 * downloads of the last three versions by 70% of the PCs (2,100,000 records, 5% failed with a
 * client error text), and 1,000 licenses of 5 seats. Each query of /api/v1/analytics/… is
 * answered through the app (inject, no socket) BENCH_RUNS (7) times after one warm-up; the
 * run prints the median and the slowest time per query. Target: every median within 200 ms
 * (docs/performance.md).
 *
 * Run: npm run bench:analytics. DATABASE_URL: a server where it may create a database (else
 * an embedded Postgres is started).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import pg from 'pg'
import app, { serverOptions } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { generateKey } from '../src/license/key.js'
import { benchDatabase, median } from './lib.js'

const PCS = Number(process.env.BENCH_PCS ?? 1_000_000)
const RUNS = Number(process.env.BENCH_RUNS ?? 7)
const VERSIONS = 12
const TARGET_MS = 200
const TOKEN = 'bench-analytics-admin-token-0123456789'

const cleanups: Array<() => Promise<unknown>> = []
const work = await mkdtemp(join(tmpdir(), 'iupdate-bench-analytics-'))
cleanups.push(async () => { await rm(work, { recursive: true, force: true }) })
try {
  const url = await benchDatabase(work, 'iupdate_bench_analytics', cleanups)
  const db = new pg.Client({ connectionString: url })
  await db.connect()
  const seeded = Date.now()
  const licenseKeys = await seed(db)
  console.log(`seeded ${PCS.toLocaleString('en')} installations and a year of history in ${((Date.now() - seeded) / 1000).toFixed(0)} s`)
  await db.query('ANALYZE')
  await db.end()

  const config = { ...loadConfig({ LOG_LEVEL: 'warn', DATA_DIR: join(work, 'data'), FTP_ROOT: join(work, 'ftp'), ADMIN_TOKEN: TOKEN }), DATABASE_URL: url }
  const server = Fastify(serverOptions(config))
  await server.register(fp(app), { config })
  await server.ready()
  cleanups.unshift(async () => { await server.close() })

  const today = new Date().toISOString().slice(0, 10)
  const yearAgo = new Date(Date.now() - 364 * 86_400_000).toISOString().slice(0, 10)
  const latest = `1.${VERSIONS}`
  const queries: Array<[string, string]> = [
    ['active, a year by day', `/api/v1/analytics/active?program=app&from=${yearAgo}&to=${today}`],
    ['active, 30 days', '/api/v1/analytics/active?program=app'],
    ['versions (current split)', '/api/v1/analytics/versions?program=app'],
    ['adoption of the latest version', `/api/v1/analytics/adoption?program=app&version=${latest}`],
    ['adoption of a version a year old', '/api/v1/analytics/adoption?program=app&version=1.1'],
    ['funnel of the latest version', `/api/v1/analytics/funnel?program=app&version=${latest}`],
    ['downloads, a year by day', `/api/v1/analytics/downloads?program=app&from=${yearAgo}&to=${today}`],
    ['downloads, 30 days', '/api/v1/analytics/downloads?program=app'],
    ['license (5 seats)', `/api/v1/analytics/licenses/${licenseKeys[0]}`]
  ]
  let slowest = 0
  console.log(`\n${'query'.padEnd(36)} ${'median ms'.padStart(10)} ${'max ms'.padStart(8)}  target ${TARGET_MS} ms`)
  for (const [name, path] of queries) {
    const times: number[] = []
    for (let i = 0; i <= RUNS; i++) {
      const started = process.hrtime.bigint()
      const res = await server.inject({ url: path, headers: { authorization: `Bearer ${TOKEN}` } })
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      if (res.statusCode !== 200) throw new Error(`${path} answered ${res.statusCode}: ${res.body}`)
      if (i > 0) times.push(ms)
    }
    const mid = median(times)
    slowest = Math.max(slowest, mid)
    console.log(`${name.padEnd(36)} ${mid.toFixed(1).padStart(10)} ${Math.max(...times).toFixed(1).padStart(8)}  ${mid <= TARGET_MS ? 'ok' : 'SLOW'}`)
  }
  console.log(`\n${slowest <= TARGET_MS ? 'met' : 'missed'}: the slowest query's median ${slowest.toFixed(1)} ms at ${PCS.toLocaleString('en')} installations (target ${TARGET_MS} ms or less)`)
} finally {
  for (const cleanup of cleanups) await cleanup().catch((err: unknown) => { console.error(err) })
}

/** The history, written in a few set-based statements; returns the license keys. */
async function seed (db: pg.Client): Promise<string[]> {
  const { rows: [{ id: programId }] } = await db.query<{ id: number }>('INSERT INTO program (name, updated_at) VALUES (\'app\', now()) RETURNING id')
  // Version 1.v released (12 - v) * 30 days ago, at midnight UTC.
  await db.query(`INSERT INTO program_version (program_id, version, released_at, updated_at)
    SELECT $1, '1.' || v, date_trunc('day', now()) - ((${VERSIONS} - v) * 30 || ' days')::interval, now() FROM generate_series(1, ${VERSIONS}) v`, [programId])
  await db.query(`INSERT INTO pcid (id, address) SELECT 'PC' || lpad(g::text, 10, '0'), '10.0.0.1' FROM generate_series(1, ${PCS}) g`)
  // Today's versions: most on the last four.
  await db.query(`INSERT INTO pcid_program (pcid, program, version, first_seen_at, last_seen_at, active_day, day_contacts)
    SELECT 'PC' || lpad(g::text, 10, '0'), 'app', '1.' || (${VERSIONS} - (g % 7) % 4), now() - interval '300 days', now(), current_date, 1 FROM generate_series(1, ${PCS}) g`)
  // Per day, every version out by then: a share of 70% of the base that rises with age then falls as newer ones arrive.
  await db.query(`INSERT INTO install_day (program, day, version, channel, count)
    SELECT 'app', d::date, '1.' || v, c::release_channel,
           greatest(1, (${PCS} * 0.7 * (CASE WHEN c = 'beta' THEN 0.05 ELSE 0.95 END)
             * least(1, (d::date - (current_date - (${VERSIONS} - v) * 30)) / 20.0 + 0.05)
             / greatest(1, least(4, (${VERSIONS} - v) + 1)))::int)
      FROM generate_series(current_date - 364, current_date, interval '1 day') d, generate_series(1, ${VERSIONS}) v, unnest(ARRAY['stable', 'beta']) c
     WHERE d::date >= current_date - (${VERSIONS} - v) * 30 AND d::date < current_date - (${VERSIONS} - v) * 30 + 120`)
  for (const v of [VERSIONS - 1, VERSIONS]) {
    await db.query(`INSERT INTO version_offer (program, version, pcid, offered_at, linked_at)
      SELECT 'app', '1.${v}', 'PC' || lpad(g::text, 10, '0'), now() - interval '20 days', CASE WHEN g % 10 < 7 THEN now() - interval '20 days' END FROM generate_series(1, ${PCS}) g`)
  }
  const errors = "ARRAY['disk full', 'SHA-256 mismatch', 'connection reset', 'access denied', 'timeout']"
  for (const v of [VERSIONS - 2, VERSIONS - 1, VERSIONS]) {
    await db.query(`INSERT INTO download (id, token_hash, pcid, program, folder, path, size, bytes_served, started_at, completed_at, confirmed_at, failed_at, error, expires_at)
      SELECT gen_random_uuid(), NULL, 'PC' || lpad(g::text, 10, '0'), 'app', '1.${v}', 'app/1.${v}/setup.exe', 50000000,
             CASE WHEN g % 20 = 0 THEN 1000000 ELSE 50000000 END, s, CASE WHEN g % 20 <> 0 THEN s + interval '5 minutes' END,
             CASE WHEN g % 20 <> 0 AND g % 10 < 8 THEN s + interval '6 minutes' END, CASE WHEN g % 20 = 0 THEN s + interval '2 minutes' END,
             CASE WHEN g % 20 = 0 THEN (${errors})[1 + (g / 20) % 5] END, s + interval '72 hours'
        FROM generate_series(1, ${PCS}) g, LATERAL (SELECT date_trunc('day', now()) - ((${VERSIONS} - ${v}) * 30 || ' days')::interval + (g % 30 || ' days')::interval + (g % 86400 || ' seconds')::interval AS s) t
       WHERE g % 10 < 7`)
  }
  const keys = Array.from({ length: 1000 }, () => generateKey('app'))
  await db.query(`INSERT INTO license (id, key, program_id, customer_name, seat_limit, updated_at)
    SELECT gen_random_uuid(), k, $2, 'Customer', 5, now() FROM unnest($1::text[]) k`, [keys, programId])
  await db.query(`INSERT INTO seat (license_id, pcid)
    SELECT l.id, 'PC' || lpad((row_number() OVER () )::text, 10, '0') FROM license l, generate_series(1, 5)`)
  return keys
}
