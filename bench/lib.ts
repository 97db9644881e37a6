import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import pg from 'pg'
import pino from 'pino'
import { startEmbeddedPostgres } from '../src/db/embedded.js'
import { migrate } from '../src/db/migrate.js'
import { freePort } from '../test/helpers/process.js'
import autocannon from 'autocannon'
import { PACKAGE_ROOT } from '../src/paths.js'

/** Shared helpers of the benchmarks: child servers, a database, autocannon runs, memory. */

import { waitForOk } from '../test/helpers/process.js'
export { freePort, waitForOk } from '../test/helpers/process.js'

/**
 * A fresh database for a benchmark: on DATABASE_URL's server, else on an embedded Postgres in
 * `work`. Its removal (and the embedded server's stop) is pushed onto `cleanups`.
 */
export async function benchDatabase (work: string, prefix: string, cleanups: Array<() => Promise<unknown>>): Promise<string> {
  let adminUrl = process.env.DATABASE_URL
  if (adminUrl === undefined) {
    const embedded = await startEmbeddedPostgres({ dataDir: join(work, 'pg'), port: await freePort(), log: pino({ level: 'warn' }), purpose: 'benchmark' })
    cleanups.unshift(embedded.stop)
    adminUrl = embedded.adminUrl
  }
  const name = `${prefix}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  cleanups.unshift(async () => { await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); await admin.end() })
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  await migrate(url.toString())
  return url.toString()
}

/**
 * BENCH_PROFILE=<dir>: the servers write V8 CPU profiles there when they stop (open them in
 * Chrome's DevTools). `quiet`: its standard output (the request log) is discarded.
 */
export function startNode (script: string, env: Record<string, string>, options: { quiet?: boolean } = {}): ChildProcess {
  const profile = process.env.BENCH_PROFILE === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE]
  const child = spawn(process.execPath, [...profile, join(PACKAGE_ROOT, script)], { env: { ...process.env, ...env }, stdio: ['ignore', options.quiet === true ? 'ignore' : 'inherit', 'inherit'] })
  process.on('exit', () => child.kill('SIGKILL'))
  return child
}

/**
 * Our server (the build in dist/) on a free port of 127.0.0.1, as the benchmarks run it: no
 * rate limit, files listed at once, migrations applied already; `env` adds to or overrides
 * that. Stopped by `cleanups`; resolves once it answers /readyz.
 */
export async function startServer (env: Record<string, string>, cleanups: Array<() => Promise<unknown>>, options: { quiet?: boolean } = {}): Promise<{ base: string, child: ChildProcess }> {
  const port = await freePort()
  const child = startNode('dist/src/server.js', {
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_MAX: '1000000000',
    DOWNLOAD_RATE_LIMIT_MAX: '1000000000',
    REPO_SETTLE_MS: '0',
    MIGRATE_ON_START: 'false',
    ...env
  }, options)
  cleanups.unshift(async () => await stop(child))
  const base = `http://127.0.0.1:${port}`
  await waitForOk(`${base}/readyz`)
  return { base, child }
}

export async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

/** Resident memory of a process, in MiB. */
export async function rssMiB (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return kb / 1024
}

/** Ticks per second of /proc's CPU times (USER_HZ; `getconf CLK_TCK`, 100 on Linux). */
const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100

/** CPU seconds (user and system) a process has used so far; 0 once it is gone. */
export async function cpuSeconds (pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS
  } catch {
    return 0
  }
}

/** The Postgres backends connected to database `name` (their process titles name it). */
export async function backendPids (name: string): Promise<number[]> {
  const pids: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const title = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
    if (title.startsWith('postgres: ') && title.includes(` ${name} `)) pids.push(Number(entry))
  }
  return pids
}

/**
 * Where a load's CPU time went: `measure` runs it, and the CPU seconds used meanwhile by each
 * named process and by the Postgres backends of database `database` are returned. A backend
 * that ends during the load loses what it used (the pools keep theirs open).
 */
export async function cpuDuring<T> (processes: Record<string, number>, database: string, measure: () => Promise<T>): Promise<{ result: T, cpu: Record<string, number> }> {
  const read = async (backends: number[]): Promise<Record<string, number>> => {
    const cpu: Record<string, number> = {}
    for (const [label, pid] of Object.entries(processes)) cpu[label] = await cpuSeconds(pid)
    cpu.postgres = 0
    for (const pid of backends) cpu.postgres += await cpuSeconds(pid)
    return cpu
  }
  const backends = await backendPids(database)
  const before = await read(backends)
  const result = await measure()
  const after = await read(backends)
  const cpu: Record<string, number> = {}
  for (const label of Object.keys(after)) cpu[label] = after[label] - before[label]
  return { result, cpu }
}

export interface LoadResult { rps: number, p99: number, errors: number, non2xx: number }

export async function load (url: string, options: { connections?: number, seconds?: number } = {}): Promise<LoadResult> {
  const result = await autocannon({ url, connections: options.connections ?? 50, duration: options.seconds ?? 10, pipelining: 1 })
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.errors, non2xx: result.non2xx }
}

/** The mean of two loads of one URL (the reference measured before and after a case). */
export function meanLoad (a: LoadResult, b: LoadResult): LoadResult {
  return { rps: (a.rps + b.rps) / 2, p99: (a.p99 + b.p99) / 2, errors: a.errors + b.errors, non2xx: a.non2xx + b.non2xx }
}

export function median (xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * One line for a case measured in several rounds: median req/s and p99, and with references
 * (measured in the same rounds) the median of the per-round ratios, with their range.
 */
export function summaryRow (name: string, results: LoadResult[], references?: LoadResult[]): string {
  const errors = results.reduce((sum, r) => sum + r.errors + r.non2xx, 0)
  let ratio = ''
  if (references !== undefined) {
    const ratios = results.map((r, i) => 100 * r.rps / references[i].rps)
    ratio = `   ${median(ratios).toFixed(0)}% of the empty route (rounds: ${ratios.map((x) => x.toFixed(0)).join(', ')})`
  }
  return `  ${name.padEnd(34)} ${median(results.map((r) => r.rps)).toFixed(0).padStart(7)} req/s   p99 ${String(median(results.map((r) => r.p99))).padStart(4)} ms   errors ${errors}${ratio}`
}

/** Downloads `url` whole, as fast as the server sends: MiB/s and bytes. */
export async function fetchAll (url: string): Promise<{ mibps: number, bytes: number }> {
  return await new Promise((resolve, reject) => {
    const started = performance.now()
    let bytes = 0
    request(url, (res) => {
      res.on('data', (d: Buffer) => { bytes += d.length })
      res.on('end', () => resolve({ mibps: bytes / 1048576 / ((performance.now() - started) / 1000), bytes }))
      res.on('error', reject)
    }).on('error', reject).end()
  })
}

/**
 * nginx (Debian's nginx-light) serving `root` with sendfile, the reference for downloads; its
 * base URL, or undefined when nginx is not installed. Stopped by `cleanups`.
 */
export async function startNginx (work: string, root: string, cleanups: Array<() => Promise<unknown>>): Promise<string | undefined> {
  const binary = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => spawnSync(p, ['-v']).status === 0)
  if (binary === undefined) return undefined
  const port = await freePort()
  const prefix = join(work, 'nginx')
  await mkdir(join(prefix, 'logs'), { recursive: true })
  await writeFile(join(prefix, 'nginx.conf'), `worker_processes 1;\ndaemon off;\nerror_log ${prefix}/logs/error.log;\npid ${prefix}/nginx.pid;\nevents { worker_connections 1024; }\nhttp {\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  server { listen 127.0.0.1:${port}; root ${root}; }\n}\n`)
  const nginx = spawn(binary, ['-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: 'inherit' })
  cleanups.unshift(async () => { nginx.kill('SIGQUIT'); await new Promise((resolve) => setTimeout(resolve, 200)) })
  const base = `http://127.0.0.1:${port}`
  await waitForNginx(base)
  return base
}

async function waitForNginx (base: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(base)
      return
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  throw new Error('nginx did not start')
}

/**
 * A 1 GiB (`mib`) download from ours and from nginx, alternating `times` times after one of
 * each not counted (the first download of a run pays for compiling code paths): the median of
 * the pairs' ratios. `link` gives a fresh download link of ours each time.
 */
export async function compareWithNginx (link: () => Promise<string>, nginxUrl: string | undefined, mib: number, times: number): Promise<void> {
  await fetchAll(await link())
  if (nginxUrl !== undefined) await fetchAll(nginxUrl)
  const ours: number[] = []
  const theirs: number[] = []
  for (let i = 0; i < times; i++) {
    const r = await fetchAll(await link())
    if (r.bytes !== mib * 1048576) throw new Error(`short download: ${r.bytes}`)
    ours.push(r.mibps)
    if (nginxUrl !== undefined) theirs.push((await fetchAll(nginxUrl)).mibps)
  }
  console.log(`\ndownload of ${mib} MiB (${times} times each after one not counted, alternating; the ratio is the median of the pairs' ratios)`)
  console.log(`  iupdate-server                      ${median(ours).toFixed(0).padStart(6)} MiB/s median   (${ours.map((x) => x.toFixed(0)).join(', ')})`)
  if (nginxUrl === undefined) {
    console.log('  nginx                               not installed (apt-get install nginx-light): no ratio')
    return
  }
  const ratios = ours.map((x, i) => 100 * x / theirs[i])
  console.log(`  nginx (sendfile)                    ${median(theirs).toFixed(0).padStart(6)} MiB/s median   (${theirs.map((x) => x.toFixed(0)).join(', ')})`)
  console.log(`  ratio                               ${median(ratios).toFixed(0)}% of nginx   (pairs: ${ratios.map((x) => x.toFixed(0)).join(', ')})`)
  console.log(`${median(ratios) >= 90 ? 'met   ' : 'missed'}  1 GiB download: ${median(ratios).toFixed(0)}% of nginx (target 90% or more)`)
}
