import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import pg from 'pg'
import pino from 'pino'
import { startEmbeddedPostgres } from '../src/db/embedded.js'
import { migrate } from '../src/db/migrate.js'
import { freePort } from '../test/helpers/process.js'
import autocannon from 'autocannon'
import { PACKAGE_ROOT } from '../src/paths.js'

/** Shared helpers of the benchmarks: child servers, a database, autocannon runs, memory. */

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

/** BENCH_PROFILE=<dir>: the servers write V8 CPU profiles there when they stop (open them in Chrome's DevTools). */
export function startNode (script: string, env: Record<string, string>): ChildProcess {
  const profile = process.env.BENCH_PROFILE === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE]
  const child = spawn(process.execPath, [...profile, join(PACKAGE_ROOT, script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] })
  process.on('exit', () => child.kill('SIGKILL'))
  return child
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
