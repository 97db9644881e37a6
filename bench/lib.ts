import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { PACKAGE_ROOT } from '../src/paths.js'

/** Shared helpers of the benchmarks: child servers, a database, autocannon runs, memory. */

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export async function waitForOk (url: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try { if ((await fetch(url)).ok) return } catch {}
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`${url} did not come up`)
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
