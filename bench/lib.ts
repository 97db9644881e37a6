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
    const embedded = await startEmbeddedPostgres({ dataDir: join(work, 'pg'), port: await freePort(), log: pino({ level: 'warn' }), database: 'postgres' })
    cleanups.unshift(embedded.stop)
    adminUrl = embedded.url
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

export function startNode (script: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [join(PACKAGE_ROOT, script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] })
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

export function row (name: string, r: LoadResult, reference?: LoadResult): string {
  const ratio = reference === undefined ? '' : `   ${(100 * r.rps / reference.rps).toFixed(0)}% of the empty route`
  return `  ${name.padEnd(34)} ${r.rps.toFixed(0).padStart(7)} req/s   p99 ${String(r.p99).padStart(4)} ms   errors ${r.errors + r.non2xx}${ratio}`
}
