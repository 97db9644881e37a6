import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { request } from 'node:http'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { PACKAGE_ROOT } from '../../src/paths.js'
import { createTestDatabase } from '../helpers/db.js'
import { freePort, occupyPort, spawnServer, waitForOk, type ServerProcess } from '../helpers/process.js'

/**
 * The server with its embedded Postgres as an operator runs it (docs/operations.md,
 * "Stopping and restarting"): signals, a second server on the same DATA_DIR, Postgres killed
 * under it, start-up failures. Every process started here is stopped by the test.
 */

// Many servers and clusters started one after another: minutes on a busy 2-core machine.
t.setTimeout(360_000)

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

async function tempDataDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'iupdate-process-'))
  // Run as root, Postgres runs as the `postgres` user, who must pass through.
  await chmod(dir, 0o711)
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  return join(dir, 'data')
}

/** Processes whose command line runs Postgres on `clusterDir`: what "no Postgres left" means. */
async function postgresOn (clusterDir: string): Promise<number[]> {
  const found: number[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.split('\0').includes(clusterDir)) found.push(Number(name))
  }
  return found
}

const postmasterPid = async (dataDir: string): Promise<number> => Number((await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0])
/** The process that `pid` started (npm's node: the start script execs it). */
async function childOf (pid: number): Promise<number> {
  for (const name of await readdir('/proc')) {
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '')
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) return Number(name)
  }
  throw new Error(`no child of ${pid}`)
}

async function until (what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await check().catch(() => false)) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await sleep(200)
  }
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const status = async (url: string): Promise<number> => await fetch(url).then((res) => res.status, () => -1)

function kill (server: ServerProcess): void {
  if (server.child.exitCode === null) server.child.kill('SIGKILL')
}

t.test('one DATA_DIR: npm start and signals, a second server, Postgres killed', async (t) => {
  const dataDir = await tempDataDir(t)
  const port = await freePort()
  const env = { DATA_DIR: dataDir, PORT: String(port), EMBEDDED_PG_PORT: String(await freePort()), HOST: '127.0.0.1', LOG_LEVEL: 'info', EMBEDDED_PG_RESTARTS: '2' }
  const base = `http://127.0.0.1:${port}`
  const clusterDir = join(dataDir, 'postgres')
  const serve = async (t: Test): Promise<{ server: ServerProcess, postmaster: number }> => {
    const server = spawnServer(env)
    t.teardown(() => { kill(server) })
    await waitForOk(`${base}/readyz`, 120_000)
    return { server, postmaster: await postmasterPid(dataDir) }
  }
  const stopCleanly = async (t: Test, server: ServerProcess): Promise<void> => {
    server.child.kill('SIGTERM')
    t.equal(await server.exited, 0, 'SIGTERM: a clean exit')
    t.same(await postgresOn(clusterDir), [], 'no Postgres left')
  }

  t.test('npm start, SIGTERM to npm and to node at once: a clean exit, and no Postgres left', async (t) => {
    // As a service manager or a terminal does it. --ignore-scripts: the build (prestart) is done.
    const { DATABASE_URL: _ignored, ...inherited } = process.env
    const npm = spawn('npm', ['start', '--ignore-scripts'], { cwd: PACKAGE_ROOT, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    npm.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    npm.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)))
    t.teardown(() => { npm.kill('SIGKILL') })
    await waitForOk(`${base}/readyz`, 120_000)
    const node = await childOf(npm.pid ?? 0)
    const postmaster = await postmasterPid(dataDir)

    process.kill(npm.pid ?? 0, 'SIGTERM')
    process.kill(node, 'SIGTERM')
    await sleep(20)
    process.kill(node, 'SIGTERM')
    t.equal(await exited, 0, 'npm exits cleanly')
    await until('node gone', async () => !alive(node), 10_000)
    t.notOk(alive(postmaster), 'its Postgres has exited')
    t.same(await postgresOn(clusterDir), [], 'no Postgres is left on DATA_DIR')
    t.notOk(existsSync(join(clusterDir, 'postmaster.pid')), 'and it shut down cleanly')
    t.match(output, /"msg":"shutting down"/)
    t.notMatch(output, /second signal|exiting now/)
  })

  t.test('a second server on the same DATA_DIR fails with one line; the first goes on serving', async (t) => {
    const { server: first, postmaster } = await serve(t)

    const second = spawnServer(env)
    t.teardown(() => { kill(second) })
    t.equal(await second.exited, 1)
    t.match(second.output(), /^iupdate-server failed to start: DATA_DIR \S+ is in use by another iupdate-server process \(server, pid \d+\): stop it first, or give this one a DATA_DIR of its own\n$/)
    await sleep(500)
    t.equal(await status(`${base}/readyz`), 200, 'the first server still has its database')
    t.equal(await postmasterPid(dataDir), postmaster, 'the same Postgres')

    await stopCleanly(t, first)
  })

  t.test('a server killed with SIGKILL: the next one stops the Postgres it left running and starts its own', async (t) => {
    const { server: killed, postmaster: orphan } = await serve(t)
    killed.child.kill('SIGKILL')
    await killed.exited
    t.ok(alive(orphan), 'its Postgres ran on')

    const { server: next, postmaster } = await serve(t)
    t.notOk(alive(orphan), 'that Postgres was stopped')
    t.not(postmaster, orphan, 'and one of its own runs')
    await stopCleanly(t, next)
  })

  t.test('Postgres killed: restarted; when restarts fail, /healthz answers 503', async (t) => {
    const { server, postmaster: killed } = await serve(t)
    process.kill(killed, 'SIGKILL')
    await until('Postgres restarted', async () => await postmasterPid(dataDir) !== killed && await status(`${base}/readyz`) === 200)
    t.equal(await status(`${base}/healthz`), 200, 'restarted by the server itself')

    // Its port taken as soon as it dies: the two restarts allowed (EMBEDDED_PG_RESTARTS) fail.
    process.kill(await postmasterPid(dataDir), 'SIGKILL')
    await until('port free', async () => { await occupyPort(t, Number(env.EMBEDDED_PG_PORT)); return true }, 10_000)
    await until('/healthz failing', async () => await status(`${base}/healthz`) === 503)
    t.same(await (await fetch(`${base}/healthz`)).json(), { status: 'failing', reason: 'the embedded Postgres exited and 2 restarts failed' })
    t.equal(await status(`${base}/readyz`), 503)
    t.match(server.output(), /"msg":"embedded postgres cannot be restarted; \/healthz fails from now on"/)
    await stopCleanly(t, server)
  })
})

t.test('start-up failures: one line that says what to do, nothing left half-made', async (t) => {
  const dataDir = await tempDataDir(t)
  // At `error`, what a failed start prints is that line alone.
  const env = { DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), HOST: '127.0.0.1', LOG_LEVEL: 'error' }

  t.test('the HTTP port in use', async (t) => {
    const port = await freePort()
    await occupyPort(t, port)
    const server = spawnServer({ ...env, PORT: String(port) })
    t.teardown(() => { kill(server) })
    t.equal(await server.exited, 1)
    t.match(server.output(), new RegExp(`^iupdate-server failed to start: port ${port} is in use( by node \\(pid ${process.pid}\\))?: stop that program, or set PORT to a free port\\n$`))
    t.same(await postgresOn(join(dataDir, 'postgres')), [], 'its Postgres was stopped')
  })

  t.test('the embedded Postgres\'s port in use', async (t) => {
    const pgPort = await freePort()
    await occupyPort(t, pgPort)
    const server = spawnServer({ ...env, PORT: String(await freePort()), EMBEDDED_PG_PORT: String(pgPort) })
    t.teardown(() => { kill(server) })
    t.equal(await server.exited, 1)
    t.match(server.output(), new RegExp(`^iupdate-server failed to start: port ${pgPort} is in use( by node \\(pid ${process.pid}\\))?: stop that program, or set EMBEDDED_PG_PORT to a free port\\n$`))
  })

  t.test('a cluster folder the postgres user cannot reach', { skip: process.getuid?.() !== 0 && 'only as root' }, async (t) => {
    const closed = await mkdtemp(join(tmpdir(), 'iupdate-closed-'))
    t.teardown(async () => { await rm(closed, { recursive: true, force: true }) })
    await mkdir(join(closed, 'data', 'postgres'), { recursive: true })
    const server = spawnServer({ ...env, DATA_DIR: join(closed, 'data'), PORT: String(await freePort()) })
    t.teardown(() => { kill(server) })
    t.equal(await server.exited, 1)
    t.match(server.output(), /^iupdate-server failed to start: the postgres user cannot enter \S+, where the embedded Postgres keeps its data: let it \(chmod o\+x on that folder and those above it\), or move DATA_DIR\n$/)
  })
})

t.test('a request that never ends holds the shutdown for SHUTDOWN_GRACE_MS, not longer', async (t) => {
  const port = await freePort()
  const token = 'shutdown-test-admin-token-0123456789'
  const server = spawnServer({ DATABASE_URL: await createTestDatabase(t), DATA_DIR: await tempDataDir(t), PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ADMIN_TOKEN: token, SHUTDOWN_GRACE_MS: '1000' })
  t.teardown(() => { kill(server) })
  await waitForOk(`http://127.0.0.1:${port}/readyz`)
  // An upload that sends its first kilobyte of ten megabytes, then nothing.
  const upload = request(`http://127.0.0.1:${port}/api/v1/programs/ishop/versions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(10 * 1024 * 1024) } })
  upload.on('error', () => {})
  upload.write(Buffer.alloc(1024, 'a'))
  await sleep(500)
  const stopping = Date.now()
  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0)
  t.ok(Date.now() - stopping < 8_000, `stopped ${Date.now() - stopping} ms after SIGTERM`)
  t.match(server.output(), /requests still running at the end of the shutdown grace; closing their connections/)
  upload.destroy()
})
