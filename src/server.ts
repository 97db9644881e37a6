import closeWithGrace from 'close-with-grace'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import pino from 'pino'
import app, { serverOptions } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js'
import { migrate } from './db/migrate.js'
import { databaseFailure, portFailure, startupFailureLine } from './startup.js'

/**
 * The only file that listens. Starts the embedded Postgres when DATABASE_URL is not set, and
 * stops it once, last, after HTTP (docs/operations.md, "Stopping and restarting").
 */

let config: Config
try {
  config = loadConfig()
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`${err.message}\n`)
  process.exit(1)
}
const log = pino({ level: config.LOG_LEVEL })

// close-with-grace's own limit, beyond SHUTDOWN_GRACE_MS, for a shutdown that hangs: Postgres's fast shutdown fits in it.
const SHUTDOWN_LIMIT_EXTRA_MS = 45_000
const starting = new AbortController()
let database: EmbeddedDatabase | undefined
let server: FastifyInstance | undefined
let started: Promise<void> = Promise.resolve()
let signalled: NodeJS.Signals | undefined

const grace = closeWithGrace({
  delay: config.SHUTDOWN_GRACE_MS + SHUTDOWN_LIMIT_EXTRA_MS,
  logger: false,
  // SIGINT and SIGTERM are taken below: close-with-grace would exit at once on the second one.
  skip: ['SIGINT', 'SIGTERM'],
  onSecondSignal: (signal) => { log.error({ signal }, 'second signal during shutdown; exiting now') },
  onSecondError: (err) => { log.error({ err }, 'second error during shutdown; exiting now') },
  onTimeout: (delay) => { log.error({ delay }, 'shutdown took too long; exiting now') }
}, async ({ signal, err }) => {
  if (err !== undefined) log.error({ err }, 'shutting down after an unexpected error')
  else log.info({ signal: signal ?? signalled }, 'shutting down')
  starting.abort()
  database?.holdRestarts()
  await started
  if (server !== undefined) await closeHttp(server)
  await database?.stop().catch((err: unknown) => { log.error({ err }, 'stopping embedded postgres failed') })
})

// `npm start` under a terminal or a service manager gets each SIGINT or SIGTERM to npm and to
// node, and npm passes its own on: node sees the signal twice. A repeat must not cut the shutdown short.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (signalled !== undefined) {
      log.info({ signal }, 'shutdown already under way')
      return
    }
    signalled = signal
    grace.close()
  })
}

started = start().catch(async (err: unknown) => {
  if (starting.signal.aborted) return
  process.stderr.write(`iupdate-server failed to start: ${startupFailureLine(err)}\n`)
  log.debug({ err }, 'start-up failed')
  await server?.close().catch(() => {})
  await database?.stop().catch(() => {})
  process.exit(1)
})

async function start (): Promise<void> {
  let databaseUrl = config.DATABASE_URL
  if (databaseUrl === undefined) {
    database = await startEmbeddedPostgres({
      dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, log, purpose: 'server', restarts: config.EMBEDDED_PG_RESTARTS, signal: starting.signal
    })
    databaseUrl = database.url
  }
  if (config.MIGRATE_ON_START) {
    const result = await migrate(databaseUrl).catch((err: unknown) => { throw databaseFailure(err) ?? err })
    log.info({ applied: result.applied, alreadyApplied: result.alreadyApplied.length }, 'migrations up to date')
    if (result.modified.length > 0) log.warn({ modified: result.modified }, 'applied migrations were edited since')
  }
  starting.signal.throwIfAborted()

  server = Fastify(serverOptions(config))
  const embedded = database
  if (embedded !== undefined) server.decorate('unrecoverable', () => embedded.failure())
  await server.register(fp(app), { config: { ...config, DATABASE_URL: databaseUrl } })
  starting.signal.throwIfAborted()
  // A long accept queue (Node's default is 511): at 9:00 thousands of PCs connect within
  // seconds, and connections the kernel cannot queue are dropped (net.core.somaxconn caps it).
  await server.listen({ port: config.PORT, host: config.HOST, backlog: 4096 }).catch(async (err: unknown) => {
    throw await portFailure(err, config.PORT, config.HOST, 'PORT') ?? err
  })
}

/** Requests still running after SHUTDOWN_GRACE_MS (a long download) have their connections closed. */
async function closeHttp (server: FastifyInstance): Promise<void> {
  const timer = setTimeout(() => {
    log.warn({ graceMs: config.SHUTDOWN_GRACE_MS }, 'requests still running at the end of the shutdown grace; closing their connections')
    server.server.closeAllConnections()
  }, config.SHUTDOWN_GRACE_MS)
  try {
    await server.close()
  } catch (err) {
    log.error({ err }, 'closing the server failed')
  } finally {
    clearTimeout(timer)
  }
}
