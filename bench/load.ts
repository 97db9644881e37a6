/**
 * Daily polls at the scale of a customer base: 1,000,000 licenses and 2,000,000 PCIDs (each
 * license bound to a PC and holding the LICENSE string of its last poll, as a day after
 * everyone polled), against the reference that matters: a Fastify route running one prepared
 * `pg` query per request on the same Postgres (bench/pg-reference.ts), with the server's pool
 * size and the same 50 connections. The reference is measured right before and after each
 * case; a case's ratio in a round is to the mean of those two, and the run reports the median
 * over rounds. Every request is a different PC, so every poll finds its caches expired.
 *
 * Cases and targets (docs/performance.md):
 *   daily poll, nothing new ............ >= 60% of the reference, p99 <= 2x the reference's
 *   a PC's first poll (takes its seat) . >= 30%
 *   a new version with 5 files ......... >= 40% (LICENSE string signed for it, 5 links)
 *   the 9:00 burst: 100,000 PCs in 60 s  no error, p99 <= 250 ms, server RSS <= 400 MiB
 *
 * Run: npm run bench:load. DATABASE_URL: a server where it may create a database (else an
 * embedded Postgres is started). BENCH_SECONDS (5) per load, BENCH_ROUNDS (5),
 * BENCH_LICENSES (1000000), BENCH_BURST (100000), BENCH_LOG_LEVEL (info, the default of a
 * new installation).
 */
import { createHash, createPrivateKey, generateKeyPairSync, sign } from 'node:crypto'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import pg from 'pg'
import { generateKey } from '../src/license/key.js'
import { benchDatabase, cpuDuring, freePort, median, rssMiB, startNode, startServer, stop, waitForOk } from './lib.js'

const PROGRAMS = 100
const LICENSES = Number(process.env.BENCH_LICENSES ?? 1_000_000)
const PCIDS = 2 * LICENSES
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info'
const CONNECTIONS = 50
const POOL = 10
const BURST_PCS = Number(process.env.BENCH_BURST ?? 100_000)
const BURST_SECONDS = 60
const TTL_SECONDS = 30 * 86_400
/** PCs 0 … DAILY-1 poll with nothing new; DAILY … LICENSES-1 find a new version; the spare PCIDs poll for the first time. */
const DAILY = Math.floor(LICENSES * 0.6)

/** The PCID of PC i, as the seed's SQL makes it. */
function pcidOf (i: number): string {
  return (createHash('md5').update(String(i)).digest('hex') + createHash('md5').update(String(-i)).digest('hex')).slice(0, 26).toUpperCase()
}

const work = await mkdtemp(join(tmpdir(), 'iupdate-load-'))
await chmod(work, 0o755)
const cleanups: Array<() => Promise<unknown>> = [async () => await rm(work, { recursive: true, force: true })]
try {
  const url = new URL(await benchDatabase(work, 'iupdate_load', cleanups))

  // The server's signing key, so that the seed can leave yesterday's LICENSE strings.
  const { privateKey } = generateKeyPairSync('ed25519')
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', alg: 'EdDSA', use: 'sig' }
  const signingKey = createPrivateKey({ key: jwk, format: 'jwk' })
  const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: 'bench', typ: 'JWT' })).toString('base64url')
  const yesterday = Math.floor(Date.now() / 1000) - 86_400
  const licenseString = (claims: { prog: string, sub: string, pcid: string, ver: string }): string => {
    const payload = Buffer.from(JSON.stringify({ ...claims, mnt: null, iss: 'iupdate-server', iat: yesterday, exp: yesterday + TTL_SECONDS })).toString('base64url')
    return `${header}.${payload}.${sign(null, Buffer.from(`${header}.${payload}`), signingKey).toString('base64url')}`
  }

  console.log(`seeding ${PROGRAMS} programs, ${LICENSES.toLocaleString()} licenses with a seat and yesterday's LICENSE string each, ${PCIDS.toLocaleString()} PCIDs`)
  let started = performance.now()
  const db = new pg.Client({ connectionString: url.toString() })
  await db.connect()
  await db.query(`INSERT INTO program (name, updated_at) SELECT 'prog' || i, now() FROM generate_series(0, ${PROGRAMS - 1}) i`)
  await db.query(`INSERT INTO pcid (id, address, program) SELECT upper(substr(md5(i::text) || md5((-i)::text), 1, 26)), '10.0.0.1', 'prog' || (i % ${PROGRAMS}) FROM generate_series(0, ${PCIDS - 1}) i`)
  const keys: string[] = []
  const BATCH = 20_000
  for (let from = 0; from < LICENSES; from += BATCH) {
    const n = Math.min(BATCH, LICENSES - from)
    const batch = Array.from({ length: n }, (_, j) => {
      const i = from + j
      const key = generateKey(`prog${i % PROGRAMS}`)
      keys.push(key)
      const token = licenseString({ prog: `prog${i % PROGRAMS}`, sub: key, pcid: pcidOf(i), ver: i < DAILY ? '2.0.0' : '1.0.0' })
      return { key, program: i % PROGRAMS, pcid: pcidOf(i), token }
    })
    await db.query(`WITH l AS (
        INSERT INTO license (id, key, program_id, customer_name, seat_limit, updated_at)
        SELECT gen_random_uuid(), t.k, p.id, 'Customer', 2, now() FROM unnest($1::text[], $2::int[]) AS t(k, n) JOIN program p ON p.name = 'prog' || t.n
        RETURNING id, key)
      INSERT INTO seat (license_id, pcid, license_token) SELECT l.id, t.pcid, t.token FROM unnest($1::text[], $3::text[], $4::text[]) AS t(k, pcid, token) JOIN l ON l.key = t.k`,
    [batch.map((b) => b.key), batch.map((b) => b.program), batch.map((b) => b.pcid), batch.map((b) => b.token)])
    if (from % 200_000 === 0) process.stdout.write(`  ${(from + n).toLocaleString()} licenses\n`)
  }
  await db.query('VACUUM ANALYZE')
  await db.end()
  const ftp = join(work, 'ftp')
  for (let p = 0; p < PROGRAMS; p++) {
    await mkdir(join(ftp, `prog${p}`, '1.0.0'), { recursive: true })
    await writeFile(join(ftp, `prog${p}`, '1.0.0', 'setup.exe'), `prog${p} 1.0.0`)
    await mkdir(join(ftp, `prog${p}`, '2.0.0'), { recursive: true })
    for (let f = 0; f < 5; f++) await writeFile(join(ftp, `prog${p}`, '2.0.0', `file${f}.dll`), `prog${p} 2.0.0 file ${f}`)
  }
  console.log(`seeded in ${((performance.now() - started) / 1000).toFixed(0)} s`)

  const { base, child: server } = await startServer({
    DATABASE_URL: url.toString(),
    LOG_LEVEL,
    FTP_ROOT: ftp,
    DATA_DIR: join(work, 'data'),
    SIGNING_KEYS: JSON.stringify({ keys: [jwk] }),
    DB_POOL_MAX: String(POOL)
  }, cleanups, { quiet: true })
  const refPort = await freePort()
  const reference = startNode('dist/bench/pg-reference.js', { PORT: String(refPort), DATABASE_URL: url.toString(), DB_POOL_MAX: String(POOL) })
  cleanups.unshift(async () => await stop(reference))
  const refBase = `http://127.0.0.1:${refPort}`
  await waitForOk(`${refBase}/pcid?pcid=x`)

  const poll = (i: number, version: string, license = i): string => `/myweb/iupdate.php?f=qrymaxver&prog[]=prog${license % PROGRAMS}&version[]=${version}&serial[]=${keys[license]}&pcid=${pcidOf(i)}&v=1`
  // Cursors: no PC is asked twice in a run.
  const cursors = { daily: 0, version: DAILY, first: LICENSES, reference: 0 }
  const cases = {
    daily: (): string => {
      if (cursors.daily >= DAILY) throw new Error('every daily PC has polled: raise BENCH_LICENSES or lower BENCH_SECONDS')
      return poll(cursors.daily++, '2.0.0')
    },
    version: (): string => poll(cursors.version++, '1.0.0'),
    first: (): string => { const i = cursors.first++; return poll(i, '2.0.0', i - LICENSES) },
    reference: (): string => `/pcid?pcid=${pcidOf(cursors.reference++ % PCIDS)}`
  }
  const expect = async (path: string, pattern: RegExp): Promise<void> => {
    const text = await (await fetch(`${base}${path}`)).text()
    if (!pattern.test(text)) throw new Error(`unexpected answer to ${path}:\n${text}`)
  }
  await expect(cases.daily(), /LICENSE\[0\]=ey[^\r]+\r\nKIND\[0\]=none\r\n$/)
  await expect(cases.version(), /URL\[0\]\[4\]=.*KIND\[0\]=version\r\n$/s)
  await expect(cases.first(), /LICENSE\[0\]=ey[^\r]+\r\nKIND\[0\]=none\r\n$/)

  interface Load { rps: number, p99: number, errors: number, cpu: Record<string, number> }
  // Where the time goes: CPU µs per request of each process during a load (docs/performance.md).
  const processes = { server: server.pid ?? 0, reference: reference.pid ?? 0, 'load generator': process.pid }
  const database = url.pathname.slice(1)
  const run = async (target: string, next: () => string, seconds = SECONDS): Promise<Load> => {
    const { result, cpu } = await cpuDuring(processes, database, async () =>
      await autocannon({ url: target, connections: CONNECTIONS, duration: seconds, requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, path: next() }) }] }))
    const perRequest: Record<string, number> = {}
    for (const [label, seconds] of Object.entries(cpu)) perRequest[label] = 1e6 * seconds / Math.max(1, result.requests.total)
    return { rps: result.requests.average, p99: result.latency.p99, errors: result.errors + result.non2xx + result.timeouts, cpu: perRequest }
  }
  const cpuLine = (label: string, loads: Load[]): void => {
    const parts = Object.keys(loads[0].cpu).map((name) => `${name} ${median(loads.map((l) => l.cpu[name])).toFixed(0)}`)
    console.log(`  ${label.padEnd(34)} ${parts.join(', ')}`)
  }
  // Warm both servers' code paths (not counted).
  await run(refBase, cases.reference, 2)
  await run(base, cases.daily, 2)

  const names = { daily: 'daily poll, nothing new', first: 'first poll (takes its seat)', version: 'new version, 5 files' } as const
  const order = ['daily', 'first', 'version'] as const
  const results: Record<typeof order[number], Array<{ load: Load, ref: Load }>> = { daily: [], first: [], version: [] }
  const references: Load[] = []
  console.log(`\n${ROUNDS} rounds of ${SECONDS} s per case, the reference before and after each; ${CONNECTIONS} connections, pool ${POOL}, LOG_LEVEL=${LOG_LEVEL}; 2 cores shared by the servers, Postgres and the load generator`)
  for (let round = 0; round < ROUNDS; round++) {
    let before = await run(refBase, cases.reference)
    references.push(before)
    const line: string[] = []
    for (const name of order) {
      const load = await run(base, cases[name])
      const after = await run(refBase, cases.reference)
      references.push(after)
      const ref = { rps: (before.rps + after.rps) / 2, p99: (before.p99 + after.p99) / 2, errors: before.errors + after.errors, cpu: before.cpu }
      results[name].push({ load, ref })
      line.push(`${name} ${load.rps.toFixed(0)}/${ref.rps.toFixed(0)}`)
      before = after
    }
    console.log(`  round ${round + 1}: ${line.join('   ')} req/s (case/reference)`)
  }
  const row = (label: string, rps: number, p99: number, errors: number, extra = ''): void =>
    console.log(`  ${label.padEnd(34)} ${rps.toFixed(0).padStart(6)} req/s   p99 ${p99.toFixed(0).padStart(4)} ms   errors ${errors}${extra}`)
  row('reference (one prepared pg query)', median(references.map((r) => r.rps)), median(references.map((r) => r.p99)), references.reduce((s, r) => s + r.errors, 0))
  const ratios: Record<string, number> = {}
  const p99Ratios: Record<string, number> = {}
  for (const name of order) {
    const rs = results[name]
    const perRound = rs.map(({ load, ref }) => 100 * load.rps / ref.rps)
    ratios[name] = median(perRound)
    p99Ratios[name] = median(rs.map(({ load, ref }) => load.p99 / Math.max(1, ref.p99)))
    row(names[name], median(rs.map((r) => r.load.rps)), median(rs.map((r) => r.load.p99)), rs.reduce((s, r) => s + r.load.errors, 0),
      `   ${ratios[name].toFixed(0)}% of the reference (rounds: ${perRound.map((x) => x.toFixed(0)).join(', ')}), p99 ${p99Ratios[name].toFixed(1)}x its`)
  }

  console.log('\nCPU µs per request, median over rounds (Postgres: the backends of the benchmark\'s database)')
  cpuLine('reference', references)
  for (const name of order) cpuLine(names[name], results[name].map((r) => r.load))

  // The 9:00 burst: 100,000 different PCs within a minute, at an even rate.
  const pid = server.pid ?? 0
  const heapBefore = await heapMiB(base)
  const idle = await rssMiB(pid)
  let peak = idle
  const sampler = setInterval(() => { rssMiB(pid).then((m) => { peak = Math.max(peak, m) }).catch(() => {}) }, 200)
  started = performance.now()
  const burst = await autocannon({
    url: base,
    connections: 200,
    amount: BURST_PCS,
    overallRate: Math.ceil(BURST_PCS / BURST_SECONDS),
    requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, path: cases.daily() }) }]
  })
  clearInterval(sampler)
  const burstSeconds = (performance.now() - started) / 1000
  const burstErrors = burst.errors + burst.non2xx + burst.timeouts
  console.log(`\nthe 9:00 burst: ${burst.requests.total.toLocaleString()} different PCs in ${burstSeconds.toFixed(0)} s (${(burst.requests.total / burstSeconds).toFixed(0)} polls/s asked)`)
  console.log(`  p99 ${burst.latency.p99} ms, errors ${burstErrors}, server RSS ${idle.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB at most`)
  console.log(`  server memory (its /metrics) before: ${heapBefore}; after: ${await heapMiB(base)}`)

  const target = (what: string, met: boolean, figure: string, goal: string): void => console.log(`${met ? 'met   ' : 'missed'}  ${what}: ${figure} (target ${goal})`)
  console.log('')
  target('daily poll', ratios.daily >= 60, `${ratios.daily.toFixed(0)}% of the reference`, '60% or more')
  target('daily poll p99', p99Ratios.daily <= 2, `${p99Ratios.daily.toFixed(1)}x the reference's`, 'at most 2x')
  target('first poll', ratios.first >= 30, `${ratios.first.toFixed(0)}%`, '30% or more')
  target('new version, 5 files', ratios.version >= 40, `${ratios.version.toFixed(0)}%`, '40% or more')
  target('burst errors', burstErrors === 0 && burst.requests.total >= BURST_PCS, `${burstErrors} errors, ${burst.requests.total} answered`, `none, ${BURST_PCS} answered`)
  target('burst p99', burst.latency.p99 <= 250, `${burst.latency.p99} ms`, 'at most 250 ms')
  target('burst memory', peak <= 400, `${peak.toFixed(0)} MiB`, 'at most 400 MiB')
} finally {
  for (const cleanup of cleanups) await cleanup().catch((err: unknown) => console.error('cleanup:', err))
}

/** The server's V8 heap and the memory outside it, from its process metrics (MiB). */
async function heapMiB (base: string): Promise<string> {
  const text = await (await fetch(`${base}/metrics`)).text()
  const value = (name: string): string => {
    const match = new RegExp(`^iupdate_${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text)
    return match === null ? '?' : (Number(match[1]) / 1024 / 1024).toFixed(0)
  }
  return `heap used ${value('nodejs_heap_size_used_bytes')} of ${value('nodejs_heap_size_total_bytes')} MiB, external ${value('nodejs_external_memory_bytes')} MiB`
}
