import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import type { Test } from 'tap'
import { PACKAGE_ROOT } from '../../src/paths.js'

/** The compiled server (`npm test` builds it first), as `npm start` runs it. */
export const SERVER_ENTRY = join(PACKAGE_ROOT, 'dist', 'src', 'server.js')

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

export interface ServerProcess {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

export function spawnServer (env: Record<string, string>): ServerProcess {
  const { DATABASE_URL: _ignored, ...inherited } = process.env
  const child = spawn(process.execPath, [SERVER_ENTRY], { env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output: () => output, exited }
}

/** Polls `url` until it answers 200, or fails after `timeoutMs`. */
export async function waitForOk (url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`)
}

/** Holds `port` on 127.0.0.1 until the test ends: a port in use by another program. */
export async function occupyPort (t: Test, port: number): Promise<Server> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  t.teardown(() => { server.close() })
  return server
}

/**
 * The real server on `env` (with PORT and HOST 127.0.0.1) that a test starts, SIGKILLs and
 * starts again, and calls as the admin `token`; killed when the test ends.
 */
export function killableServer (t: Test, env: Record<string, string>, token: string): {
  start: () => Promise<void>
  kill: () => Promise<void>
  api: (method: string, path: string, body?: unknown) => Promise<{ status: number, json: any }>
} {
  const base = `http://127.0.0.1:${env.PORT}`
  let server: ServerProcess | undefined
  const kill = async (): Promise<void> => {
    server?.child.kill('SIGKILL')
    await server?.exited
  }
  t.teardown(kill)
  return {
    start: async () => {
      server = spawnServer(env)
      await waitForOk(`${base}/readyz`)
    },
    kill,
    api: async (method, path, body) => {
      const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) })
      return { status: res.status, json: await res.json().catch(() => undefined) }
    }
  }
}
